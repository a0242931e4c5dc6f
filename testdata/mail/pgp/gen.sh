#!/bin/sh
# Regenerates the OpenPGP reply corpus in this folder with real GnuPG, so that
# mailbot/open reads what gpg (and the clients built on it) really write.
#
#     sh testdata/mail/pgp/gen.sh        (needs gpg 2.2+, iconv, GNU coreutils)
#
# Every message answers the detail notice of JVNVU#12345678 to the robot
# (testdata/keys/robot) with the status form, from vendor-acme (Curve25519)
# or vendor-beta-rsa (RSA-3072), in one of the shapes vendors' clients send:
# PGP/MIME encrypted and/or signed (RFC 3156), protected headers
# (Thunderbird, Enigmail), inline PGP (encrypted, clearsigned in ISO-2022-JP
# and Shift_JIS), and the attacks of SECURITY T1-T5. Signatures are salted
# and timed, so the bytes change on every run; expect.json (written by hand)
# says what mailbot/open/pgp_corpus_test.go must read from each file and
# does not change. vendor-expired.pub.asc and vendor-revoked.pub.asc are the
# public keys of two throwaway signers made here; the "unknown signer" key
# is thrown away.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
keys=$here/../../keys
# Short homes: gpg-agent's socket path must stay under ~100 bytes.
work=$(mktemp -d /tmp/cbpg.XXXXXX)
homes=""
cleanup() {
	for h in $homes; do
		gpgconf --homedir "$h" --kill all 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

newhome() {
	mkdir -m 700 "$work/$1"
	homes="$homes $work/$1"
	echo "$work/$1"
}

# g HOME ARGS: gpg in HOME, no prompts, recipients trusted as given.
g() {
	home=$1
	shift
	gpg --homedir "$home" --batch --no-tty --quiet --pinentry-mode loopback \
		--passphrase '' --trust-model always "$@"
}

H=$(newhome main)
g "$H" --import "$keys/vendor-acme.sec.asc" "$keys/vendor-beta-rsa.sec.asc" \
	"$keys/robot.pub.asc" "$keys/coord.pub.asc" 2>/dev/null

ROBOT=coordbot-robot@test.invalid
ACME=psirt@acme.test.invalid
BETA=security@beta.test.invalid

status=$work/status.txt
printf '該当状況 / Status: 該当製品あり\n公表用コメント / Public comment: fixed in 2.1\n' >"$status"

SUBJECT='Re: [JVNVU#12345678] 脆弱性詳細情報 / Vulnerability detail'
NOTICE='<dt.JVNVU12345678.acme.1@cert.example>'

# b64word TEXT: an RFC 2047 encoded word.
b64word() {
	printf '=?UTF-8?B?%s?=' "$(printf '%s' "$1" | base64 -w0)"
}

# head NAME FROM SUBJECT: the envelope header fields, LF ends.
head_fields() {
	printf 'From: %s\n' "$2"
	printf 'To: coordbot <%s>\n' "$ROBOT"
	printf 'Subject: %s\n' "$3"
	printf 'Date: Mon, 30 Nov 2026 10:00:00 +0900\n'
	printf 'Message-ID: <%s@vendor.test.invalid>\n' "$1"
	printf 'In-Reply-To: %s\n' "$NOTICE"
	printf 'References: %s\n' "$NOTICE"
	printf 'MIME-Version: 1.0\n'
}

ACME_FROM='Acme PSIRT <psirt@acme.test.invalid>'
BETA_FROM='Beta Security <security@beta.test.invalid>'
SUBJ_ENC=$(b64word "$SUBJECT")

# crlf: LF to CRLF line ends, as on the wire (idempotent).
crlf() {
	sed 's/\r*$/\r/'
}

# signable FILE: the bytes a multipart/signed covers for the part in FILE:
# CRLF ends, without the line break that belongs to the next delimiter.
signable() {
	crlf <"$1" | head -c -2
}

# detach HOME SIGNER FILE: an armored detached signature over signable FILE.
detach() {
	signable "$3" >"$3.signed"
	g "$1" --armor --detach-sign --digest-algo SHA256 -u "$2" -o - "$3.signed"
}

# signed_entity BOUNDARY PART SIG: a multipart/signed body (no header).
signed_body() {
	printf 'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\n'
	printf -- '--%s\n' "$1"
	cat "$2"
	printf -- '--%s\n' "$1"
	printf 'Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"\n'
	printf 'Content-Description: OpenPGP digital signature\n'
	printf 'Content-Disposition: attachment; filename="OpenPGP_signature.asc"\n\n'
	cat "$3"
	printf -- '--%s--\n' "$1"
}

signed_type() {
	printf 'Content-Type: multipart/signed; micalg=pgp-sha256;\n protocol="application/pgp-signature"; boundary="%s"\n' "$1"
}

# encrypted_body BOUNDARY ARMORED: an RFC 3156 multipart/encrypted body.
encrypted_type() {
	printf 'Content-Type: multipart/encrypted;\n protocol="application/pgp-encrypted"; boundary="%s"\n' "$1"
}
encrypted_body() {
	printf 'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n'
	printf -- '--%s\n' "$1"
	printf 'Content-Type: application/pgp-encrypted\n'
	printf 'Content-Description: PGP/MIME version identification\n\nVersion: 1\n\n'
	printf -- '--%s\n' "$1"
	printf 'Content-Type: application/octet-stream; name="encrypted.asc"\n'
	printf 'Content-Description: OpenPGP encrypted message\n'
	printf 'Content-Disposition: inline; filename="encrypted.asc"\n\n'
	cat "$2"
	printf -- '--%s--\n' "$1"
}

# status_part CHARSET: a text/plain entity with the status form, base64.
status_part() {
	printf 'Content-Type: text/plain; charset=UTF-8; format=flowed\n'
	printf 'Content-Transfer-Encoding: base64\n\n'
	base64 -w 76 <"$status"
}

# finish NAME: write NAME.eml from $work/NAME with CRLF line ends.
finish() {
	crlf <"$work/$1" >"$here/$1.eml"
	echo "$1.eml"
}

# --- PGP/MIME, sign then encrypt, as Enigmail: multipart/signed inside the
# encryption, protected headers on the signed multipart/mixed, with a
# legacy text/rfc822-headers copy for old clients.
n=enigmail-signed-encrypted
{
	printf 'Content-Type: multipart/mixed; boundary="------------mixA";\n protected-headers="v1"\n'
	printf 'From: %s\nTo: coordbot <%s>\nMessage-ID: <%s@vendor.test.invalid>\nSubject: %s\n\n' \
		"$ACME_FROM" "$ROBOT" "$n" "$SUBJ_ENC"
	printf -- '--------------mixA\n'
	printf 'Content-Type: text/rfc822-headers; protected-headers="v1"\nContent-Disposition: inline\n\n'
	printf 'From: %s\nTo: coordbot <%s>\nSubject: %s\n\n' "$ACME_FROM" "$ROBOT" "$SUBJ_ENC"
	printf -- '--------------mixA\n'
	status_part
	printf '\n--------------mixA--\n'
} >"$work/$n.part"
detach "$H" "$ACME" "$work/$n.part" >"$work/$n.sig"
{
	signed_type sigA
	printf '\n'
	signed_body sigA "$work/$n.part" "$work/$n.sig"
} | crlf >"$work/$n.plain"
g "$H" --armor --encrypt -r "$ROBOT" -o - "$work/$n.plain" >"$work/$n.asc"
{
	head_fields "$n" "$ACME_FROM" "..."
	encrypted_type encA
	printf '\n'
	encrypted_body encA "$work/$n.asc"
} >"$work/$n"
finish $n

# --- PGP/MIME encrypted with the signature inside the OpenPGP message
# (gpg --sign --encrypt), RSA, no protected headers.
n=pgpmime-inline-sig-rsa
{
	printf 'Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n'
	cat "$status"
} | crlf >"$work/$n.plain"
g "$H" --armor --sign --encrypt -u "$BETA" -r "$ROBOT" -o - "$work/$n.plain" >"$work/$n.asc"
{
	head_fields "$n" "$BETA_FROM" "$SUBJ_ENC"
	encrypted_type encB
	printf '\n'
	encrypted_body encB "$work/$n.asc"
} >"$work/$n"
finish $n

# --- Thunderbird: signed and encrypted in one OpenPGP message, the real
# Subject only in the protected headers (outer Subject "..."), the sender's
# key attached as application/pgp-keys (quoted-printable, as Thunderbird).
n=thunderbird-protected-headers
{
	printf 'Content-Type: multipart/mixed; boundary="------------tbMix";\n protected-headers="v1"\n'
	printf 'From: %s\nTo: coordbot <%s>\nMessage-ID: <%s@vendor.test.invalid>\n' "$ACME_FROM" "$ROBOT" "$n"
	printf 'In-Reply-To: %s\nReferences: %s\nSubject: %s\n\n' "$NOTICE" "$NOTICE" "$SUBJ_ENC"
	printf 'This is a multi-part message in MIME format.\n'
	printf -- '--------------tbMix\n'
	status_part
	printf '\n--------------tbMix\n'
	printf 'Content-Type: application/pgp-keys; name="OpenPGP_0x905ECEF868655335.asc"\n'
	printf 'Content-Disposition: attachment; filename="OpenPGP_0x905ECEF868655335.asc"\n'
	printf 'Content-Description: OpenPGP public key\nContent-Transfer-Encoding: quoted-printable\n\n'
	g "$H" --armor --export "$ACME" | sed 's/=/=3D/g'
	printf '\n--------------tbMix--\n'
} | crlf >"$work/$n.plain"
g "$H" --armor --sign --encrypt -u "$ACME" -r "$ROBOT" -o - "$work/$n.plain" >"$work/$n.asc"
{
	head_fields "$n" "$ACME_FROM" "..."
	encrypted_type "------------tbEnc"
	printf '\n'
	encrypted_body "------------tbEnc" "$work/$n.asc"
} >"$work/$n"
finish $n

# --- PGP/MIME signed only; the signed part is base64, so the signature is
# over the encoded bytes.
n=pgpmime-signed
status_part >"$work/$n.part"
detach "$H" "$ACME" "$work/$n.part" >"$work/$n.sig"
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	signed_type sigS
	printf '\n'
	signed_body sigS "$work/$n.part" "$work/$n.sig"
} >"$work/$n"
finish $n

# --- PGP/MIME signed, RSA, ISO-2022-JP 7bit, stored with bare LF line ends
# (Maildir): the signature is over the CRLF form.
n=pgpmime-signed-rsa-lf
{
	printf 'Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n'
	iconv -f UTF-8 -t ISO-2022-JP <"$status"
} >"$work/$n.part"
detach "$H" "$BETA" "$work/$n.part" >"$work/$n.sig"
{
	head_fields "$n" "$BETA_FROM" "$SUBJ_ENC"
	signed_type sigL
	printf '\n'
	signed_body sigL "$work/$n.part" "$work/$n.sig"
} | tr -d '\r' >"$here/$n.eml"
echo "$n.eml"

# --- Inline PGP: the whole text/plain body is an armored message, signed
# and encrypted.
n=inline-encrypted-utf8
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	printf 'Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 7bit\n\n'
	g "$H" --armor --sign --encrypt -u "$ACME" -r "$ROBOT" -o - "$status"
} >"$work/$n"
finish $n

# --- Inline PGP encrypted, with the sender's text around the block (a
# greeting above, the quoted notice below): that text is not protected.
n=inline-encrypted-with-quote
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	printf 'Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n'
	printf 'Please find our answer below.\n\n'
	g "$H" --armor --sign --encrypt -u "$ACME" -r "$ROBOT" -o - "$status"
	printf '\nOn Mon, 30 Nov 2026, coordbot wrote:\n> 該当状況 / Status: 該当製品なし\n> quoted notice text\n'
} >"$work/$n"
finish $n

# --- Clearsigned ISO-2022-JP: gpg signs the ISO-2022-JP bytes as sent.
n=inline-clearsigned-iso2022jp
iconv -f UTF-8 -t ISO-2022-JP <"$status" >"$work/$n.txt"
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	printf 'Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n'
	g "$H" --clearsign --digest-algo SHA256 -u "$ACME" -o - "$work/$n.txt"
} >"$work/$n"
finish $n

# --- Clearsigned Shift_JIS, RSA, base64 transfer encoding.
n=inline-clearsigned-sjis
iconv -f UTF-8 -t SHIFT_JIS <"$status" >"$work/$n.txt"
{
	head_fields "$n" "$BETA_FROM" "$SUBJ_ENC"
	printf 'Content-Type: text/plain; charset=Shift_JIS\nContent-Transfer-Encoding: base64\n\n'
	g "$H" --clearsign --digest-algo SHA256 -u "$BETA" -o - "$work/$n.txt" | crlf | base64 -w 76
	printf '\n'
} >"$work/$n"
finish $n

# --- Clearsigned block plus unsigned text after it (T3): only part of
# the body is signed.
n=clearsigned-partial
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	printf 'Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n'
	g "$H" --clearsign --digest-algo SHA256 -u "$ACME" -o - "$status"
	printf '\nCorrection:\n該当状況 / Status: 該当製品なし\n-- \nAcme PSIRT\n'
} >"$work/$n"
finish $n

# --- PGP/MIME encrypted, not signed.
n=pgpmime-encrypted-unsigned
{
	printf 'Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n'
	cat "$status"
} | crlf >"$work/$n.plain"
g "$H" --armor --encrypt -r "$ROBOT" -o - "$work/$n.plain" >"$work/$n.asc"
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	encrypted_type encU
	printf '\n'
	encrypted_body encU "$work/$n.asc"
} >"$work/$n"
finish $n

# --- Signed by a key nobody pinned, under the vendor's From (T3, T4).
n=signed-unknown-key
U=$(newhome unknown)
g "$U" --quick-gen-key 'Acme PSIRT <psirt@acme.test.invalid>' future-default default never
status_part >"$work/$n.part"
detach "$U" "$ACME" "$work/$n.part" >"$work/$n.sig"
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	signed_type sigU
	printf '\n'
	signed_body sigU "$work/$n.part" "$work/$n.sig"
} >"$work/$n"
finish $n

# --- Signed, then the body altered (8bit, so the change is in plain view).
n=signed-bad-altered
{
	printf 'Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n'
	cat "$status"
} >"$work/$n.part"
detach "$H" "$ACME" "$work/$n.part" >"$work/$n.sig"
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	signed_type sigX
	printf '\n'
	signed_body sigX "$work/$n.part" "$work/$n.sig"
} | sed 's/該当製品あり/該当製品なし/' >"$work/$n"
finish $n

# --- A captured vendor ciphertext (the Thunderbird message above, signed
# inside) wrapped in a stranger's multipart/mixed with their own text (T2).
n=wrapped-ciphertext
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	printf 'Content-Type: multipart/mixed; boundary="wrapW"\n\n'
	printf -- '--wrapW\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n'
	printf '該当状況 / Status: 該当製品なし\n公表用コメント / Public comment: not affected\n\n'
	printf -- '--wrapW\n'
	encrypted_type "------------tbEnc"
	printf '\n'
	encrypted_body "------------tbEnc" "$work/thunderbird-protected-headers.asc"
	printf -- '--wrapW--\n'
} >"$work/$n"
finish $n

# --- Encrypted without integrity protection (no MDC, packet tag 9): gpg
# 2.2 still writes it with --rfc2440 and a cipher other than the key's
# preference.
n=encrypted-no-mdc
{
	printf 'Content-Type: text/plain; charset=UTF-8\n\n'
	cat "$status"
} | crlf >"$work/$n.plain"
g "$H" --rfc2440 --cipher-algo CAST5 --armor --encrypt -r "$ROBOT" -o - "$work/$n.plain" >"$work/$n.asc" 2>/dev/null
g "$H" --list-packets "$work/$n.asc" 2>/dev/null | grep -q 'tag=9' || {
	echo "gpg wrote an integrity-protected packet for $n" >&2
	exit 1
}
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	encrypted_type encN
	printf '\n'
	encrypted_body encN "$work/$n.asc"
} >"$work/$n"
finish $n

# --- One ciphertext byte flipped (inside the MDC packet at the end), then
# armored again: the armor checksum is right, the MDC is not.
n=encrypted-flipped-byte
g "$H" --encrypt -r "$ROBOT" -o "$work/$n.bin" "$work/pgpmime-encrypted-unsigned.plain"
size=$(wc -c <"$work/$n.bin")
off=$((size - 10))
old=$(od -An -tu1 -j "$off" -N1 "$work/$n.bin" | tr -d ' ')
printf "\\$(printf '%03o' $((old ^ 1)))" | dd of="$work/$n.bin" bs=1 seek="$off" conv=notrunc 2>/dev/null
g "$H" --enarmor -o - "$work/$n.bin" | sed -e 's/PGP ARMORED FILE/PGP MESSAGE/' -e '/^Comment:/d' >"$work/$n.asc"
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	encrypted_type encF
	printf '\n'
	encrypted_body encF "$work/$n.asc"
} >"$work/$n"
finish $n

# --- Compression bomb: 200 MB of zeros, zlib level 9, a few hundred KB.
n=compression-bomb
{
	printf 'Content-Type: text/plain; charset=UTF-8\n\n'
	head -c 200000000 /dev/zero
} >"$work/$n.plain"
g "$H" --armor --encrypt --compress-algo zlib -z 9 -r "$ROBOT" -o "$work/$n.asc" "$work/$n.plain"
rm -f "$work/$n.plain"
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	encrypted_type encZ
	printf '\n'
	encrypted_body encZ "$work/$n.asc"
} >"$work/$n"
finish $n

# --- Encrypted to a key the robot does not hold (the coordinator's).
n=encrypted-other-key
g "$H" --armor --encrypt -r coord@cert.test.invalid -o - "$work/pgpmime-encrypted-unsigned.plain" >"$work/$n.asc"
{
	head_fields "$n" "$ACME_FROM" "$SUBJ_ENC"
	encrypted_type encO
	printf '\n'
	encrypted_body encO "$work/$n.asc"
} >"$work/$n"
finish $n

# --- Signed in 2025 by a key that expired a day later.
n=signed-expired-key
E=$(newhome expired)
T='--faked-system-time 20250101T000000!'
# shellcheck disable=SC2086
g "$E" $T --quick-gen-key 'Expired Vendor <psirt@expired.test.invalid>' future-default default 1d 2>/dev/null
g "$E" --armor --export psirt@expired.test.invalid >"$here/vendor-expired.pub.asc"
status_part >"$work/$n.part"
signable "$work/$n.part" >"$work/$n.signed"
# shellcheck disable=SC2086
g "$E" $T --armor --detach-sign --digest-algo SHA256 -o "$work/$n.sig" "$work/$n.signed" 2>/dev/null
{
	head_fields "$n" 'Expired Vendor <psirt@expired.test.invalid>' "$SUBJ_ENC"
	signed_type sigE
	printf '\n'
	signed_body sigE "$work/$n.part" "$work/$n.sig"
} >"$work/$n"
finish $n

# --- Signed by a key revoked afterwards (its revocation is in the pinned
# public key).
n=signed-revoked-key
R=$(newhome revoked)
g "$R" --quick-gen-key 'Revoked Vendor <psirt@revoked.test.invalid>' future-default default never
status_part >"$work/$n.part"
detach "$R" psirt@revoked.test.invalid "$work/$n.part" >"$work/$n.sig"
sed 's/^:-----BEGIN/-----BEGIN/' "$R"/openpgp-revocs.d/*.rev >"$work/$n.rev"
g "$R" --import "$work/$n.rev" 2>/dev/null
g "$R" --armor --export psirt@revoked.test.invalid >"$here/vendor-revoked.pub.asc"
{
	head_fields "$n" 'Revoked Vendor <psirt@revoked.test.invalid>' "$SUBJ_ENC"
	signed_type sigR
	printf '\n'
	signed_body sigR "$work/$n.part" "$work/$n.sig"
} >"$work/$n"
finish $n
