#!/usr/bin/env bash
# Real Dovecot (IMAP + LMTP) and Postfix (SMTP) servers for end-to-end tests,
# listening on 127.0.0.1 only, with every config, socket, queue, log and
# mailbox under one directory.  Needs root.
#
# Usage:
#   mailservers.sh start DIR            install packages if missing, write configs,
#                                       start everything, write and print DIR/env
#   mailservers.sh stop DIR             stop everything (idempotent)
#   mailservers.sh stop-imap DIR        stop / start the IMAP server only (stopping it
#   mailservers.sh start-imap DIR         ends the open sessions too); mail keeps being
#                                       delivered (LMTP is a separate Dovecot)
#   mailservers.sh stop-smtp DIR        stop / start Postfix; mail already queued is
#   mailservers.sh start-smtp DIR         delivered after the restart
#   mailservers.sh add-user DIR ADDR    add a mailbox user (password "secret")
#   mailservers.sh add-users DIR ADDR...  add many users at once (hundreds in a second)
#
# DIR/env holds IMAP_ADDR, SMTP_ADDR, MAILDIR_ROOT, LMTP_SOCKET, USERS_FILE.
# Ports are picked free and kept across stop-*/start-* of the same DIR.
# Every user's password is "secret"; the IMAP login is the full address.
# Mail for unknown users in the test domains is bounced back to the sender by
# Dovecot LMTP; mail for any other domain bounces at once (no DNS, no Internet).

set -euo pipefail

PASSWORD=secret
DOMAINS="cert.example acme.example beta.example gamma.example example.com example.org example.net"
DEFAULT_USERS="vultures@cert.example coord@cert.example coord2@cert.example psirt@acme.example security@beta.example secteam@gamma.example reporter@example.com"
# Ports are claimed under this lock / in this registry so that instances
# started at the same time, or stopped for an outage test, never collide.
PORT_REGISTRY=/tmp/coordbot-mailservers-ports
PORT_LOCK=/tmp/coordbot-mailservers-ports.lock
WAIT_SECONDS=30

die() {
	echo "mailservers.sh: $*" >&2
	exit 1
}

usage() {
	die "usage: $0 start|stop|stop-imap|start-imap|stop-smtp|start-smtp DIR | add-user DIR ADDR | add-users DIR ADDR..."
}

# ---------------------------------------------------------------- packages

ensure_packages() {
	local missing=()
	command -v dovecot >/dev/null || missing+=(dovecot-imapd)
	test -x /usr/lib/dovecot/imap || missing+=(dovecot-imapd)
	test -x /usr/lib/dovecot/lmtp || missing+=(dovecot-lmtpd)
	command -v postfix >/dev/null || missing+=(postfix)
	if [ ${#missing[@]} -eq 0 ]; then
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "need root to install ${missing[*]}"
	echo "mailservers.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	# Keep the distribution's own services from starting.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
	fi
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends dovecot-imapd dovecot-lmtpd postfix >&2
}

ensure_vmail() {
	if ! getent group vmail >/dev/null; then
		groupadd --system vmail
	fi
	if ! getent passwd vmail >/dev/null; then
		useradd --system --gid vmail --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin vmail
	fi
}

# ---------------------------------------------------------------- helpers

# port_open PORT: does something accept TCP connections on 127.0.0.1:PORT?
port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# pick_port: print a port in 20000-32767 (below the Linux ephemeral range)
# that nothing listens on and no other instance has claimed, and claim it for
# $DIR.  Call with $PORT_LOCK held.
pick_port() {
	local port claim tries=0
	while [ $tries -lt 200 ]; do
		tries=$((tries + 1))
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		claim="$PORT_REGISTRY/$port"
		if [ -f "$claim" ]; then
			# A claim is stale when its instance directory is gone.
			if [ -d "$(cat "$claim")" ]; then
				continue
			fi
			rm -f "$claim"
		fi
		if port_open "$port"; then
			continue
		fi
		echo "$DIR" >"$claim"
		echo "$port"
		return
	done
	die "no free port found"
}

release_ports() {
	local claim
	[ -d "$PORT_REGISTRY" ] || return 0
	for claim in "$PORT_REGISTRY"/*; do
		[ -f "$claim" ] || continue
		if [ "$(cat "$claim" 2>/dev/null)" = "$DIR" ]; then
			rm -f "$claim"
		fi
	done
}

# pid_alive PIDFILE NAME: the process in PIDFILE runs and is called NAME.
pid_alive() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(tr -dc 0-9 2>/dev/null <"$1") || return 1
	[ -n "$pid" ] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		if [ $SECONDS -ge $deadline ]; then
			return 1
		fi
		sleep 0.1
	done
}

not() { ! "$@"; }

log_tails() {
	local f
	for f in "$DIR"/log/*; do
		[ -s "$f" ] || continue
		echo "---- tail of $f" >&2
		tail -n 30 "$f" >&2
	done
}

fail() {
	echo "mailservers.sh: $*" >&2
	log_tails
	if [ -n "${STARTING:-}" ]; then
		# Do not leave half an instance running.
		STARTING=
		stop_postfix || true
		stop_dovecot imap || true
		stop_dovecot lmtp || true
	fi
	exit 1
}

load_env() {
	[ -f "$DIR/env" ] || die "$DIR/env not found: run '$0 start $DIR' first"
	IMAP_PORT=$(sed -n 's/^IMAP_ADDR=127\.0\.0\.1://p' "$DIR/env")
	SMTP_PORT=$(sed -n 's/^SMTP_ADDR=127\.0\.0\.1://p' "$DIR/env")
	if [ -z "$IMAP_PORT" ] || [ -z "$SMTP_PORT" ]; then
		die "$DIR/env is incomplete"
	fi
}

# ---------------------------------------------------------------- users

add_user() {
	local addr=$1 user domain
	case "$addr" in
	*@*.*) ;;
	*) die "bad address '$addr'" ;;
	esac
	case "$addr" in
	*[!A-Za-z0-9@._+-]*) die "bad address '$addr'" ;;
	esac
	addr=$(echo "$addr" | tr '[:upper:]' '[:lower:]')
	user=${addr%@*}
	domain=${addr#*@}
	touch "$DIR/users"
	if ! awk -F: -v a="$addr" '$1 == a { found = 1 } END { exit !found }' "$DIR/users"; then
		echo "$addr:{PLAIN}$PASSWORD::::::" >>"$DIR/users"
		ADDED_AT=$(date +%s)
	fi
	install -d -o vmail -g vmail -m 700 "$DIR/mail/$domain" "$DIR/mail/$domain/$user"
}

# add_users ADDR...: add_user for many addresses without a process per
# address (tests register hundreds of vendors).
add_users() {
	local addr user domain line
	local -A have=()
	local -a dirs=() lines=()
	touch "$DIR/users"
	while IFS=: read -r line _; do
		have[$line]=1
	done <"$DIR/users"
	for addr in "$@"; do
		case "$addr" in
		*@*.*) ;;
		*) die "bad address '$addr'" ;;
		esac
		case "$addr" in
		*[!A-Za-z0-9@._+-]*) die "bad address '$addr'" ;;
		esac
		addr=${addr,,}
		user=${addr%@*}
		domain=${addr#*@}
		dirs+=("$DIR/mail/$domain" "$DIR/mail/$domain/$user")
		if [ -z "${have[$addr]:-}" ]; then
			have[$addr]=1
			lines+=("$addr:{PLAIN}$PASSWORD::::::")
		fi
	done
	if [ ${#lines[@]} -gt 0 ]; then
		printf '%s\n' "${lines[@]}" >>"$DIR/users"
		ADDED_AT=$(date +%s)
	fi
	if [ ${#dirs[@]} -gt 0 ]; then
		install -d -o vmail -g vmail -m 700 "${dirs[@]}"
	fi
}

# ---------------------------------------------------------------- dovecot

dovecot_major_minor() {
	dovecot --version | sed -E 's/^([0-9]+)\.([0-9]+).*/\1 \2/'
}

# write_dovecot_conf NAME PROTOCOL: DIR/dovecot-NAME.conf, run dir DIR/NAME.
# The IMAP and the LMTP server are two Dovecot instances sharing the users
# file and the maildirs, so that IMAP can go down while mail keeps arriving.
write_dovecot_conf() {
	local name=$1 protocol=$2 conf="$DIR/dovecot-$1.conf" major minor
	local run="$DIR/$name"
	read -r major minor < <(dovecot_major_minor)
	mkdir -p "$run"
	chmod 755 "$run"
	if [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 4 ]; }; then
		write_dovecot24_conf "$conf" "$name" "$protocol" "$run"
		return
	fi
	cat >"$conf" <<EOF
# Generated by testdata/mailservers.sh for Dovecot 2.3.
instance_name = coordbot-$name-$(basename "$DIR")
base_dir = $run
state_dir = $run/state
log_path = $DIR/log/dovecot-$name.log
info_log_path = $DIR/log/dovecot-$name.log
protocols = $protocol
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_cache_size = 0
service anvil {
  # No auth penalty: a failed login must not slow down the next one.
  # The auth process quietly disables the penalty when this socket does not
  # exist.  (The documented "mode = 0" does not help: auth runs as root, and
  # in gVisor the refused connect is retried for 5 s at every auth start.)
  unix_listener anvil-auth-penalty {
    path = anvil-auth-penalty-disabled
  }
}
mail_uid = vmail
mail_gid = vmail
first_valid_uid = $(id -u vmail)
first_valid_gid = $(id -g vmail)
mail_location = maildir:~/Maildir
postmaster_address = postmaster@cert.example
hostname = mail.coordbot.test

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $DIR/users
}
userdb {
  driver = passwd-file
  args = username_format=%Lu $DIR/users
  override_fields = uid=vmail gid=vmail home=$DIR/mail/%Ld/%Ln
}

namespace inbox {
  inbox = yes
  separator = /
  mailbox Processed {
    auto = create
  }
  mailbox Quarantine {
    auto = create
  }
  mailbox Sent {
    auto = create
    special_use = \\Sent
  }
}

EOF
	if [ "$protocol" = imap ]; then
		cat >>"$conf" <<EOF

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
	else
		cat >>"$conf" <<EOF

service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
EOF
	fi
}

# Dovecot 2.4 changed the configuration language.  Not exercised on Debian 12.
write_dovecot24_conf() {
	local conf=$1 name=$2 protocol=$3 run=$4
	cat >"$conf" <<EOF
# Generated by testdata/mailservers.sh for Dovecot 2.4.
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
instance_name = coordbot-$name-$(basename "$DIR")
base_dir = $run
state_dir = $run/state
log_path = $DIR/log/dovecot-$name.log
info_log_path = $DIR/log/dovecot-$name.log
protocols = $protocol
listen = 127.0.0.1
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
auth_failure_delay = 0
auth_cache_size = 0
# No auth penalty for failed logins from trusted networks.
login_trusted_networks = 127.0.0.0/8
mail_uid = vmail
mail_gid = vmail
first_valid_uid = $(id -u vmail)
first_valid_gid = $(id -g vmail)
mail_driver = maildir
mail_home = $DIR/mail/%{user | domain | lower}/%{user | username | lower}
mail_path = ~/Maildir
postmaster_address = postmaster@cert.example
hostname = mail.coordbot.test
auth_username_format = %{user | lower}

passdb passwd-file {
  passwd_file_path = $DIR/users
  default_password_scheme = PLAIN
}
userdb passwd-file {
  passwd_file_path = $DIR/users
  fields {
    uid = vmail
    gid = vmail
  }
}

namespace inbox {
  inbox = yes
  separator = /
  mailbox Processed {
    auto = create
  }
  mailbox Quarantine {
    auto = create
  }
  mailbox Sent {
    auto = create
    special_use = \\Sent
  }
}

EOF
	if [ "$protocol" = imap ]; then
		cat >>"$conf" <<EOF

service imap-login {
  inet_listener imap {
    listen = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
	else
		cat >>"$conf" <<EOF

service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
EOF
	fi
}

start_dovecot() {
	local name=$1 pidfile="$DIR/$1/master.pid"
	if pid_alive "$pidfile" dovecot; then
		return
	fi
	# A socket left by an older configuration would re-enable the auth penalty.
	rm -f "$DIR/$name/anvil-auth-penalty"
	# Detached, output to a file: the master keeps inherited descriptors open.
	# fd 9 is the port lock: the daemons must not inherit it.
	dovecot -c "$DIR/dovecot-$name.conf" </dev/null >>"$DIR/log/dovecot-$name.out" 2>&1 9>&- ||
		fail "dovecot ($name) did not start"
}

# Dovecot takes a second or more to exit (its master sleeps while its
# children die), so cmd_stop signals every server first and then waits.
signal_dovecot() {
	local pidfile="$DIR/$1/master.pid"
	if pid_alive "$pidfile" dovecot; then
		kill "$(tr -dc 0-9 2>/dev/null <"$pidfile")" 2>/dev/null || true
	fi
}

wait_dovecot_stopped() {
	wait_until 20 not pid_alive "$DIR/$1/master.pid" dovecot ||
		die "dovecot ($1) did not stop"
}

stop_dovecot() {
	signal_dovecot "$1"
	wait_dovecot_stopped "$1"
}

# dovecot_children NAME: the processes the instance's master started.
dovecot_children() {
	local pidfile="$DIR/$1/master.pid"
	pid_alive "$pidfile" dovecot || return 0
	ps -o pid= --ppid "$(tr -dc 0-9 <"$pidfile")" 2>/dev/null || true
}

# any_alive PID...: does one of the processes still run?
any_alive() {
	local pid
	for pid in "$@"; do
		[ -d "/proc/$pid" ] && return 0
	done
	return 1
}

# stop_imap: stop the IMAP instance and end the client sessions it served.
# Without the master, an imap process keeps serving its client (IDLE, FETCH,
# MOVE) for another ten seconds or so before it notices; a real outage cuts
# the connections, so the sessions are ended here too.
stop_imap() {
	local children pid
	children=$(dovecot_children imap)
	stop_dovecot imap
	for pid in $children; do
		kill "$pid" 2>/dev/null || true
	done
	# shellcheck disable=SC2086 # one word per pid
	wait_until 20 not any_alive $children || die "imap sessions did not end"
}

# ---------------------------------------------------------------- postfix

write_postfix_conf() {
	local conf="$DIR/postfix"
	mkdir -p "$conf" "$DIR/postfix-queue" "$DIR/postfix-data"
	chown root:root "$DIR/postfix-queue"
	chmod 755 "$conf" "$DIR/postfix-queue"
	chown postfix: "$DIR/postfix-data"
	chmod 700 "$DIR/postfix-data"
	cat >"$conf/main.cf" <<EOF
# Generated by testdata/mailservers.sh.
compatibility_level = 3.6
queue_directory = $DIR/postfix-queue
data_directory = $DIR/postfix-data
maillog_file = $DIR/log/postfix.log
maillog_file_prefixes = $DIR/log
myhostname = mail.coordbot.test
mydomain = coordbot.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtputf8_enable = no
biff = no
append_dot_mydomain = no
recipient_delimiter =

# Every test domain is delivered by Dovecot LMTP; Dovecot rejects unknown
# users, which bounces the message back to the sender.
virtual_mailbox_domains = $DOMAINS
virtual_transport = lmtp:unix:$DIR/lmtp/lmtp
# Nothing leaves the machine: other domains bounce at once.
default_transport = error:5.1.2 coordbot test servers deliver only to the test domains
relay_transport = \$default_transport
# Accept such mail and bounce it, as a smarthost would, rather than refuse RCPT.
smtpd_reject_unlisted_recipient = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native

# Fast retries and short lifetimes so deferred mail is retried at once and
# undeliverable mail bounces quickly.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
transport_retry_time = 1s
maximal_queue_lifetime = 2m
bounce_queue_lifetime = 2m
delay_warning_time = 0h
smtpd_error_sleep_time = 0s
in_flow_delay = 0s
EOF
	cat >"$conf/master.cf" <<EOF
# Generated by testdata/mailservers.sh.  Nothing is chrooted.
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	# Postfix sleeps up to 2 s at startup while main.cf looks freshly written.
	touch -d '-10 seconds' "$conf/main.cf" "$conf/master.cf"
}

postfix_pidfile() {
	echo "$DIR/postfix-queue/pid/master.pid"
}

start_postfix() {
	if pid_alive "$(postfix_pidfile)" master; then
		return
	fi
	postfix -c "$DIR/postfix" start </dev/null >>"$DIR/log/postfix.out" 2>&1 9>&- ||
		fail "postfix did not start"
}

signal_postfix() {
	[ -f "$DIR/postfix/main.cf" ] || return 0
	if pid_alive "$(postfix_pidfile)" master; then
		postfix -c "$DIR/postfix" stop </dev/null >>"$DIR/log/postfix.out" 2>&1 || true
	fi
}

wait_postfix_stopped() {
	wait_until 20 not pid_alive "$(postfix_pidfile)" master ||
		die "postfix did not stop"
}

stop_postfix() {
	signal_postfix
	wait_postfix_stopped
}

# ---------------------------------------------------------------- checks

wait_imap() {
	wait_until $WAIT_SECONDS port_open "$IMAP_PORT" ||
		fail "IMAP server did not listen on 127.0.0.1:$IMAP_PORT within ${WAIT_SECONDS}s"
}

wait_smtp() {
	wait_until $WAIT_SECONDS port_open "$SMTP_PORT" ||
		fail "SMTP server did not listen on 127.0.0.1:$SMTP_PORT within ${WAIT_SECONDS}s"
}

wait_lmtp() {
	wait_until $WAIT_SECONDS test -S "$DIR/lmtp/lmtp" ||
		fail "LMTP socket $DIR/lmtp/lmtp did not appear within ${WAIT_SECONDS}s"
}

# Wait until a port is closed, so that it can be bound again right away
# (children of a stopped server may hold the listening socket a little longer).
wait_closed() {
	wait_until 20 not port_open "$1" || die "port $1 still open after stop"
}

# ---------------------------------------------------------------- commands

cmd_start() {
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	ensure_packages
	ensure_vmail
	mkdir -p "$DIR"
	DIR=$(cd "$DIR" && pwd -P)
	[ ${#DIR} -le 60 ] || die "DIR path too long for unix sockets: $DIR"
	chmod 755 "$DIR"
	runuser -u vmail -- test -x "$DIR" ||
		die "$DIR is not reachable by user vmail: every parent directory must be traversable"
	runuser -u postfix -- test -x "$DIR" ||
		die "$DIR is not reachable by user postfix"
	if pid_alive "$DIR/imap/master.pid" dovecot || pid_alive "$DIR/lmtp/master.pid" dovecot ||
		pid_alive "$(postfix_pidfile)" master; then
		die "servers already running in $DIR: stop them first"
	fi

	mkdir -p "$DIR/log"
	install -d -o vmail -g vmail -m 700 "$DIR/mail"
	touch "$DIR/users"
	chmod 644 "$DIR/users"
	local u
	for u in $DEFAULT_USERS; do
		add_user "$u"
	done

	mkdir -p "$PORT_REGISTRY"
	exec 9>"$PORT_LOCK"
	flock 9
	release_ports
	IMAP_PORT=$(pick_port)
	SMTP_PORT=$(pick_port)

	write_dovecot_conf imap imap
	write_dovecot_conf lmtp lmtp
	write_postfix_conf
	cat >"$DIR/env" <<EOF
IMAP_ADDR=127.0.0.1:$IMAP_PORT
SMTP_ADDR=127.0.0.1:$SMTP_PORT
MAILDIR_ROOT=$DIR/mail
LMTP_SOCKET=$DIR/lmtp/lmtp
USERS_FILE=$DIR/users
EOF
	STARTING=1
	start_dovecot lmtp
	start_dovecot imap
	start_postfix
	wait_lmtp
	wait_imap
	wait_smtp
	# Keep the lock until the ports are bound so no other instance probes them free.
	exec 9>&-
	STARTING=
	cat "$DIR/env"
}

cmd_stop() {
	[ -d "$DIR" ] || return 0
	DIR=$(cd "$DIR" && pwd -P)
	signal_postfix
	signal_dovecot imap
	signal_dovecot lmtp
	wait_postfix_stopped
	wait_dovecot_stopped imap
	wait_dovecot_stopped lmtp
	if [ -f "$DIR/env" ]; then
		load_env
		wait_closed "$IMAP_PORT"
		wait_closed "$SMTP_PORT"
	fi
	if [ -d "$PORT_REGISTRY" ]; then
		exec 9>"$PORT_LOCK"
		flock 9
		release_ports
		exec 9>&-
	fi
}

main() {
	[ $# -ge 2 ] || usage
	local cmd=$1
	DIR=$2
	case "$DIR" in
	/*) ;;
	*) DIR="$PWD/$DIR" ;;
	esac
	case "$cmd" in
	start) cmd_start ;;
	stop) cmd_stop ;;
	stop-imap)
		DIR=$(cd "$DIR" && pwd -P)
		load_env
		stop_imap
		wait_closed "$IMAP_PORT"
		;;
	start-imap)
		DIR=$(cd "$DIR" && pwd -P)
		load_env
		start_dovecot imap
		wait_imap
		;;
	stop-smtp)
		DIR=$(cd "$DIR" && pwd -P)
		load_env
		stop_postfix
		wait_closed "$SMTP_PORT"
		;;
	start-smtp)
		DIR=$(cd "$DIR" && pwd -P)
		load_env
		start_postfix
		wait_smtp
		;;
	add-user | add-users)
		[ $# -ge 3 ] || usage
		[ "$cmd" = add-users ] || [ $# -eq 3 ] || usage
		DIR=$(cd "$DIR" && pwd -P)
		ADDED_AT=
		shift 2
		if [ "$cmd" = add-user ]; then
			add_user "$1"
		else
			add_users "$@"
		fi
		# Dovecot rereads the users file when it changes, but looks at most
		# once a second: wait for the next second so the next lookup sees it.
		if [ -n "$ADDED_AT" ]; then
			while [ "$(date +%s)" -le "$ADDED_AT" ]; do
				sleep 0.05
			done
		fi
		;;
	*) usage ;;
	esac
}

main "$@"
