FROM debian:12
MAINTAINER Jane Doe <jane@example.com>
LABEL org.opencontainers.image.authors="jane@example.com"
