//! Key generation, key loading (environment, file, development key), and no secret in any output.

use super::*;

#[test]
fn keygen_writes_minisign_files_with_owner_only_secret_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let passphrase = Passphrase::new("correct horse battery staple".into());
    let paths = keygen_with_kdf(
        dir.path(),
        &passphrase,
        minisig::KdfParams::fast_for_tests(),
    )
    .unwrap();
    assert_eq!(paths.public, dir.path().join("winrelease.pub"));
    assert_eq!(paths.secret, dir.path().join("winrelease.key"));
    let public =
        minisig::PublicKey::from_file_text(&fs::read_to_string(&paths.public).unwrap()).unwrap();
    assert_eq!(public.key_id(), paths.key_id);
    let secret_text = fs::read_to_string(&paths.secret).unwrap();
    assert!(minisig::SecretKey::file_is_encrypted(&secret_text).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&paths.secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let before = fs::read(&paths.secret).unwrap();
    let err = keygen_with_kdf(
        dir.path(),
        &passphrase,
        minisig::KdfParams::fast_for_tests(),
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::KeyExists { .. }), "{err}");
    assert!(err.to_string().contains("never overwrites"));
    assert_eq!(fs::read(&paths.secret).unwrap(), before);

    // The key loads from the file with the passphrase, and not without or with another.
    let mut settings = KeySettings::new(dir.path());
    settings.key_file = Some(paths.secret.clone());
    let env = KeyEnvironment::new(None, Some(passphrase.clone()), true);
    let key = load_release_key(&settings, &env).unwrap();
    assert_eq!(key.key_id(), paths.key_id);
    assert!(!key.is_development());
    let err = load_release_key(&settings, &KeyEnvironment::new(None, None, true)).unwrap_err();
    assert!(matches!(err, KeyError::PassphraseRequired { .. }), "{err}");
    assert!(err.to_string().contains("WINRELEASE_PASSPHRASE"), "{err}");
    let wrong = KeyEnvironment::new(None, Some(Passphrase::new("wrong".into())), true);
    let err = load_release_key(&settings, &wrong).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err}");

    // The public key loads for `verify --pubkey`.
    let loaded = keys::load_public_key(&paths.public).unwrap();
    assert_eq!(loaded.key_id(), paths.key_id);
    let err = keys::load_public_key(&paths.secret)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("winrelease.key") && err.contains("winrelease.pub"),
        "{err}"
    );

    // Empty passphrases are refused (minisign could not read the key back).
    let empty_dir = tempfile::tempdir().unwrap();
    let err = keygen(empty_dir.path(), &Passphrase::new(String::new())).unwrap_err();
    assert!(err.to_string().contains("passphrase"), "{err}");
    assert!(!empty_dir.path().join("winrelease.key").exists());
}

#[test]
fn keygen_refuses_to_put_the_secret_key_where_git_would_commit_it() {
    let repo_dir = tempfile::tempdir().unwrap();
    git2::Repository::init(repo_dir.path()).unwrap();
    let keys = repo_dir.path().join("keys");
    let fast = minisig::KdfParams::fast_for_tests();
    let passphrase = Passphrase::new("pw".into());
    let err = keygen_with_kdf(&keys, &passphrase, fast).unwrap_err();
    assert!(matches!(err, KeyError::InGitWorkTree { .. }), "{err}");
    assert!(err.to_string().contains(".gitignore"), "{err}");
    assert!(!keys.exists(), "the refused key directory was left behind");
    // Once git ignores it, the key may live there.
    fs::write(repo_dir.path().join(".gitignore"), "/keys/\n").unwrap();
    keygen_with_kdf(&keys, &passphrase, fast).unwrap();
    assert!(keys.join("winrelease.key").is_file());
}

#[test]
fn development_key_is_labelled_made_once_and_refused_in_ci() {
    let out = tempfile::tempdir().unwrap();
    let settings = KeySettings::new(out.path());
    let local = KeyEnvironment::new(None, None, false);
    let key = load_release_key(&settings, &local).unwrap();
    assert!(key.is_development());
    assert!(key
        .source()
        .to_string()
        .contains("DEVELOPMENT KEY - not for production"));
    let dev_dir = out.path().join("dev-key");
    let public = fs::read_to_string(dev_dir.join("winrelease-dev.pub")).unwrap();
    assert!(
        public.starts_with("untrusted comment: DEVELOPMENT KEY - not for production"),
        "{public}"
    );
    assert_eq!(
        minisig::PublicKey::from_file_text(&public)
            .unwrap()
            .key_id(),
        key.key_id()
    );
    let secret = fs::read_to_string(dev_dir.join("winrelease-dev.key")).unwrap();
    assert!(secret.starts_with("untrusted comment: DEVELOPMENT KEY - not for production"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dev_dir.join("winrelease-dev.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The same key on the next run.
    assert_eq!(
        load_release_key(&settings, &local).unwrap().key_id(),
        key.key_id()
    );

    // Its signatures say what they are, also to stock minisign users.
    let root = tempfile::tempdir().unwrap();
    let summary = release(root.path(), &key, "1.0.0", &ReleaseOptions::default());
    assert!(summary.development_key);
    let sig = fs::read_to_string(&summary.manifest_signature).unwrap();
    assert!(
        sig.starts_with("untrusted comment: signed by winrelease with the DEVELOPMENT KEY"),
        "{sig}"
    );

    // Under CI=true the development key is never used.
    let ci = KeyEnvironment::new(None, None, true);
    let err = load_release_key(&settings, &ci).unwrap_err();
    assert!(matches!(err, KeyError::MissingInCi), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("WINRELEASE_SECRET_KEY") && text.contains("secrets."),
        "{text}"
    );
}

/// Runs keygen (minisign's default KDF) and the trust stage with a known passphrase, loading
/// the key as CI would (base64 in the environment), and looks for the passphrase and the
/// secret key text in every file written and every message and Debug string produced.
#[test]
fn no_secret_reaches_any_output() {
    const PASSPHRASE: &str = "Pa55-phrase-that-must-never-leak-7f3a";
    let work = tempfile::tempdir().unwrap();
    let keys = work.path().join("keys");
    let paths = keygen(&keys, &Passphrase::new(PASSPHRASE.into())).unwrap();
    let secret_text = fs::read_to_string(&paths.secret).unwrap();
    let secret_line = secret_text.lines().nth(1).unwrap().to_string();
    let secret_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(secret_text.as_bytes())
    };

    let mut messages: Vec<String> = Vec::new();
    let passphrase = Passphrase::new(PASSPHRASE.into());
    messages.push(format!("{passphrase:?}"));
    let env = KeyEnvironment::new(Some(secret_b64.clone()), Some(passphrase.clone()), true);
    messages.push(format!("{env:?}"));
    let settings = KeySettings {
        key_file: Some(paths.secret.clone()),
        passphrase: Some(passphrase.clone()),
        dev_key_dir: work.path().join("dev"),
    };
    messages.push(format!("{settings:?}"));
    let key = load_release_key(&settings, &env).unwrap();
    assert_eq!(key.key_id(), paths.key_id);
    assert_eq!(key.source(), &KeySource::Environment);
    messages.push(format!("{key:?}"));
    messages.push(format!("{paths:?}"));

    // Failures that involve the secret: wrong passphrase, missing passphrase, corrupt key.
    let wrong = KeyEnvironment::new(
        Some(secret_b64.clone()),
        Some(Passphrase::new(format!("{PASSPHRASE}x"))),
        true,
    );
    let fake_key = KeySettings {
        key_file: None,
        passphrase: None,
        dev_key_dir: work.path().join("dev"),
    };
    for env in [
        wrong,
        KeyEnvironment::new(Some(secret_text.clone()), None, true),
        KeyEnvironment::new(
            Some(secret_text.replace('A', "!")),
            Some(passphrase.clone()),
            true,
        ),
        KeyEnvironment::new(
            Some(secret_b64[..40].to_string()),
            Some(passphrase.clone()),
            true,
        ),
    ] {
        let err = load_release_key(&fake_key, &env).unwrap_err();
        messages.push(err.to_string());
        messages.push(format!("{err:?}"));
    }

    let root = work.path().join("releases");
    let summary = release(&root, &key, "1.2.3", &ReleaseOptions::default());
    messages.push(format!("{summary:?}"));
    let verified = verify_release(&summary.manifest, &key.public_key(), COMMIT_TIME, None).unwrap();
    messages.extend(verified.lines.iter().map(|l| l.to_string()));
    // A failed zip stage's and a failed trust stage's error, too.
    let mut bad = request(&root, "1.2.4", &ReleaseOptions::default());
    let err = make_zip(&bad, &work.path().join("missing.json"), None).unwrap_err();
    messages.push(err.to_string());
    messages.push(format!("{err:?}"));
    bad.expiry_days = 0;
    let err = release_trust(&bad, &key).unwrap_err();
    messages.push(err.to_string());
    messages.push(format!("{err:?}"));

    let needles: [(&str, &[u8]); 3] = [
        ("passphrase", PASSPHRASE.as_bytes()),
        ("secret key line", secret_line.as_bytes()),
        ("secret key base64", &secret_b64.as_bytes()[100..160]),
    ];
    let mut files = Vec::new();
    collect_files(&root, &mut files);
    collect_files(&keys, &mut files);
    assert!(files.len() >= 12, "{files:?}");
    for file in &files {
        let bytes = fs::read(file).unwrap();
        for (what, needle) in needles {
            let allowed = what != "passphrase" && file == &paths.secret;
            assert!(
                allowed || !contains(&bytes, needle),
                "the {what} appears in {}",
                file.display()
            );
        }
        // The zip's entries are compressed: look inside them too.
        if file.extension().is_some_and(|e| e == "zip") {
            let mut archive = zip::ZipArchive::new(fs::File::open(file).unwrap()).unwrap();
            for i in 0..archive.len() {
                let mut entry = archive.by_index(i).unwrap();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                for (what, needle) in needles {
                    assert!(!contains(&content, needle), "the {what} appears in the zip");
                }
            }
        }
    }
    for message in &messages {
        for (what, needle) in needles {
            assert!(
                !contains(message.as_bytes(), needle),
                "the {what} appears in: {message}"
            );
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
