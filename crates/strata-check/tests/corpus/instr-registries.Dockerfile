FROM debian:12.5 AS base
FROM quay.io/prometheus/busybox:1.36 AS q
FROM gcr.io/distroless/static:nonroot
FROM registry.internal.example.com/team/app:2.1 AS app
FROM ghcr.io/owner/tool:1.0 AS tool
FROM base
COPY --from=q /bin/sh /bin/sh
COPY --from=app /srv /srv
COPY --from=mirror.gcr.io/library/busybox:1.36 /bin/ls /bin/ls
COPY --from=docker.io/library/alpine:3.20 /etc/os-release /etc/os-release
RUN --mount=type=bind,from=evil.example.org/x:1,target=/x true
RUN --mount=type=cache,target=/root/.cache true
FROM scratch
