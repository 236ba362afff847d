FROM golang:1.22 AS build
RUN true

FROM debian:12.5 AS base
LABEL maintainer="Jane Doe <jane@example.com>"
LABEL org.opencontainers.image.created="2024-05-01T10:00:00Z" \
      org.opencontainers.image.url="https://example.com/app" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.revision="0123abc" \
      org.opencontainers.image.version="1.2.3" \
      email="jane@example.com"

FROM base AS runtime
COPY --from=build /out /out
LABEL extra="x"

FROM alpine:3.20 AS bad
LABEL maintainer=""
LABEL org.opencontainers.image.created="yesterday" \
      org.opencontainers.image.url="not a url" \
      org.opencontainers.image.licenses="MIT-ish" \
      org.opencontainers.image.revision="XYZ" \
      org.opencontainers.image.version="v1.2" \
      email="nobody"

FROM alpine:3.20
LABEL org.opencontainers.image.created="2024-05-01T10:00:00.123+02:00" \
      org.opencontainers.image.url="http://x" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="0123456789abcdef0123456789abcdef01234567" \
      org.opencontainers.image.version="1.2.3-rc.1+build.5" \
      email="a.b+c@example.co.uk"
