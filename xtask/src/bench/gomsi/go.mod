module winrelease.invalid/gomsi-bench

go 1.25.0

require go.digitalxero.dev/go-msi v0.2.0

require (
	github.com/abemedia/go-cfb v0.2.0 // indirect
	golang.org/x/crypto v0.11.0 // indirect
	software.sslmate.com/src/go-pkcs12 v0.5.0 // indirect
)
