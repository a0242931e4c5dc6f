# coordbot in a container: a static binary on a small Debian base.
#
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t coordbot .
#   docker volume create coordbot
#   docker run --rm -v coordbot:/var/lib/coordbot \
#       -v "$PWD/coordbot.toml:/etc/coordbot/coordbot.toml:ro" coordbot init
#   docker run -d --name coordbot --restart on-failure -v coordbot:/var/lib/coordbot \
#       -v "$PWD/coordbot.toml:/etc/coordbot/coordbot.toml:ro" \
#       -v "$PWD/secrets:/run/secrets:ro" coordbot
#   docker exec coordbot coordbot case list      # the CLI talks to the daemon's admin socket
#
# The volume /var/lib/coordbot holds everything to back up: the store
# (coordbot.db), the robot key (robot.asc) and the admin socket; keep
# bot.data_dir, pgp.key_file and admin.socket under it (the example config
# does). Passwords come from files (imap.password_file, e.g.
# /run/secrets/imap, which is where Docker and Compose mount secrets) or
# from environment variables, never from the config file. The mounted
# config and secrets must be readable by uid 10001 (the coordbot user).

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that the download is cached across source changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/coordbot ./cmd/coordbot

FROM debian:bookworm-slim
# tzdata: bot.timezone (Asia/Tokyo by default); ca-certificates: verifying
# the IMAP and SMTP servers' certificates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 coordbot \
 && useradd --system --uid 10001 --gid coordbot --home-dir /var/lib/coordbot --no-create-home \
      --shell /usr/sbin/nologin coordbot \
 && install -d -o coordbot -g coordbot -m 0700 /var/lib/coordbot \
 && install -d -o root -g coordbot -m 0750 /etc/coordbot
COPY --from=build /out/coordbot /usr/local/bin/coordbot
ENV COORDBOT_CONFIG=/etc/coordbot/coordbot.toml
# A new named volume starts as this folder: owned by coordbot, mode 0700.
VOLUME ["/var/lib/coordbot"]
WORKDIR /var/lib/coordbot
USER coordbot:coordbot
# serve stops cleanly on SIGTERM (docker stop waits 10 s, then kills;
# use --stop-timeout 30 for a slow SMTP server).
STOPSIGNAL SIGTERM
ENTRYPOINT ["coordbot"]
CMD ["serve"]
