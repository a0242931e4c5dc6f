#!/bin/sh
# Regenerates the TEST-ONLY OpenPGP keys in this folder with real GnuPG, so
# that tests exercise keys as gpg writes them. No passphrase, no expiry.
# Usage: sh testdata/keys/gen.sh   (from anywhere; needs gpg 2.2 or later)
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
# A short home: gpg-agent's socket path must stay under ~100 bytes.
home=$(mktemp -d /tmp/cbkg.XXXXXX)
cleanup() {
	gpgconf --homedir "$home" --kill all 2>/dev/null || true
	rm -rf "$home"
}
trap cleanup EXIT INT TERM

g() {
	gpg --homedir "$home" --batch --no-tty --quiet \
		--pinentry-mode loopback --passphrase '' "$@"
}

# name  algo  user ID
gen() {
	name=$1 algo=$2 uid=$3
	# future-default = ed25519 primary (sign, certify) + cv25519 subkey
	# (encrypt); rsa3072 = RSA primary + RSA encryption subkey.
	g --quick-gen-key "$uid" "$algo" default never
	fpr=$(g --with-colons --list-secret-keys "=$uid" | awk -F: '$1 == "fpr" { print $10; exit }')
	if [ "$algo" = rsa3072 ]; then
		# quick-gen-key with an explicit algo makes no encryption subkey.
		g --quick-add-key "$fpr" rsa3072 encr never
	fi
	g --armor --export "$fpr" >"$dir/$name.pub.asc"
	g --armor --export-secret-keys "$fpr" >"$dir/$name.sec.asc"
	echo "$name $fpr"
}

gen robot future-default 'coordbot test robot <coordbot-robot@test.invalid>'
gen vendor-acme future-default 'Acme PSIRT (test) <psirt@acme.test.invalid>'
gen vendor-beta-rsa rsa3072 'Beta Security (test) <security@beta.test.invalid>'
gen coord future-default 'Coordinator (test) <coord@cert.test.invalid>'
