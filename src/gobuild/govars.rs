//! The package-level `var` declarations of a Go source file, enough to tell whether
//! `-X pkg.name=value` can take effect: the linker sets only a string variable that is
//! uninitialized or initialized to a constant, and silently ignores a name that is not declared.
//!
//! A tokenizer, not a type checker: comments, strings and function bodies are skipped, Go's
//! automatic semicolons are inserted; `const`, `func` and type declarations are ignored.

/// What a declaration says about a variable's type and initializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarKind {
    /// `var v string`, `var v = "lit"`, `var v string = "a" + "b"`.
    String,
    /// No type, initialized from a name (`var v = defaultVersion`): a string if that is a
    /// string constant.
    Untyped,
    /// Initialized by a call, composite or index: Go computes it at start-up, over any `-X`.
    Computed,
    /// Declared with another type (`var v int`).
    Other,
}

/// One package-level variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoVar {
    pub name: String,
    pub kind: VarKind,
}

impl VarKind {
    /// Whether `-X` may set it.
    pub fn takes_x(self) -> bool {
        matches!(self, VarKind::String | VarKind::Untyped)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str,
    Lit,
    Punct(char),
    Semi,
}

/// Every package-level variable declared in `source`.
pub fn package_vars(source: &str) -> Vec<GoVar> {
    let toks = tokenize(source);
    let mut vars = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Ident(word) if depth == 0 && word == "var" => {
                i = declaration(&toks, i + 1, &mut vars);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    vars
}

/// Reads the declaration after `var` at `i` (one spec or a parenthesized group); returns the
/// index after it.
fn declaration(toks: &[Tok], mut i: usize, vars: &mut Vec<GoVar>) -> usize {
    let grouped = toks.get(i) == Some(&Tok::Punct('('));
    if grouped {
        i += 1;
    }
    loop {
        while toks.get(i) == Some(&Tok::Semi) {
            i += 1;
        }
        if i >= toks.len() {
            return i;
        }
        if grouped && toks[i] == Tok::Punct(')') {
            return i + 1;
        }
        let end = spec_end(toks, i);
        spec(&toks[i..end], vars);
        i = end;
        if !grouped {
            return i;
        }
    }
}

/// The end of the spec starting at `i`: its `;` (or a group's `)`) at depth 0.
fn spec_end(toks: &[Tok], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i] {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')') if depth == 0 => return i,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Semi if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// `a, b T = x, y`.
fn spec(toks: &[Tok], vars: &mut Vec<GoVar>) {
    let mut names = Vec::new();
    let mut i = 0;
    while let Some(Tok::Ident(name)) = toks.get(i) {
        names.push(name.clone());
        i += 1;
        if toks.get(i) != Some(&Tok::Punct(',')) {
            break;
        }
        i += 1;
    }
    let rest = &toks[i..];
    let (typ, values) = match rest.iter().position(|t| *t == Tok::Punct('=')) {
        Some(eq) => (&rest[..eq], split_top_level(&rest[eq + 1..])),
        None => (rest, Vec::new()),
    };
    for (index, name) in names.into_iter().enumerate() {
        let value = if values.len() == 1 && index > 0 {
            None // `a, b = f()`: one call giving both
        } else {
            values.get(index).copied()
        };
        let kind = kind_of(typ, value, !values.is_empty());
        if name != "_" {
            vars.push(GoVar { name, kind });
        }
    }
}

fn kind_of(typ: &[Tok], value: Option<&[Tok]>, initialized: bool) -> VarKind {
    let is_string_type = typ == [Tok::Ident("string".into())];
    if !typ.is_empty() && !is_string_type {
        return VarKind::Other;
    }
    let Some(value) = value else {
        return if initialized {
            VarKind::Computed
        } else {
            VarKind::String
        };
    };
    if value
        .iter()
        .any(|t| matches!(t, Tok::Punct('(' | '[' | '{')))
    {
        VarKind::Computed
    } else if is_string_type
        || value
            .iter()
            .all(|t| matches!(t, Tok::Str | Tok::Punct('+')))
    {
        VarKind::String
    } else {
        VarKind::Untyped
    }
}

fn split_top_level(toks: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                parts.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    parts
}

/// Go's tokens, coarsely: identifiers, literals, single-character punctuation and the
/// semicolons Go inserts at line ends.
fn tokenize(source: &str) -> Vec<Tok> {
    let chars: Vec<char> = source.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let newline = |toks: &mut Vec<Tok>| {
        if matches!(
            toks.last(),
            Some(Tok::Ident(_) | Tok::Str | Tok::Lit | Tok::Punct(')' | ']' | '}'))
        ) {
            toks.push(Tok::Semi);
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            newline(&mut toks);
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let start = i;
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i = (i + 2).min(chars.len());
            if chars[start..i].contains(&'\n') {
                newline(&mut toks);
            }
        } else if c == '"' || c == '\'' || c == '`' {
            i = skip_quoted(&chars, i);
            toks.push(if c == '\'' { Tok::Lit } else { Tok::Str });
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            toks.push(if c.is_ascii_digit() {
                Tok::Lit
            } else {
                Tok::Ident(word)
            });
        } else if c == ';' {
            toks.push(Tok::Semi);
            i += 1;
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    newline(&mut toks);
    toks
}

/// The index after the literal opened by the quote at `i` (raw strings have no escapes).
fn skip_quoted(chars: &[char], mut i: usize) -> usize {
    let quote = chars[i];
    i += 1;
    while i < chars.len() && chars[i] != quote {
        if chars[i] == '\\' && quote != '`' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(String, VarKind)> {
        package_vars(source)
            .into_iter()
            .map(|v| (v.name, v.kind))
            .collect()
    }

    #[test]
    fn groups_singles_and_lists_are_found_with_their_kind() {
        let src = r#"package buildinfo

// Version is set at link time: "var fake string" in a comment is not a declaration.
var Version string
var (
	Revision  = "unknown" // the commit
	Branch    string
	BuildDate = "" + `raw`
	a, b      string
	n         int = 3
	when      = time.Now()
	alias     = Version
)
var _ = fmt.Sprint
func f() { var inner string; _ = inner }
var Last = strings.Join([]string{"x"}, "")
"#;
        use VarKind::*;
        assert_eq!(
            kinds(src),
            [
                ("Version", String),
                ("Revision", String),
                ("Branch", String),
                ("BuildDate", String),
                ("a", String),
                ("b", String),
                ("n", Other),
                ("when", Computed),
                ("alias", Untyped),
                ("Last", Computed),
            ]
            .map(|(n, k)| (n.to_string(), k))
        );
    }

    #[test]
    fn strings_runes_and_comments_do_not_confuse_the_scanner() {
        let src = "package main\nvar s = \"a \\\" var x string (\"\nvar r = '\\''\n/* var y string\n*/ var z, w = f()\n";
        assert_eq!(
            kinds(src),
            [
                ("s".to_string(), VarKind::String),
                ("r".to_string(), VarKind::Untyped),
                ("z".to_string(), VarKind::Computed),
                ("w".to_string(), VarKind::Computed),
            ]
        );
    }
}
