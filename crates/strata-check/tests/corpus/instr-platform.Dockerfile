FROM --platform=linux/amd64 debian:12.5 AS amd
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
FROM --platform=$TARGETPLATFORM alpine:3.20 AS target
FROM --platform=${TARGETPLATFORM} alpine:3.20 AS target2
FROM --platform=${TARGETOS}/${TARGETARCH} alpine:3.20 AS target3
FROM --platform=linux/arm64/v8 alpine:3.20 AS context
FROM alpine:3.20 AS scratch
FROM alpine:3.20
