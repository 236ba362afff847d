FROM debian:12.5
ONBUILD RUN useradd -u 1000000 app
ONBUILD RUN useradd -l -u 1000000 app
ONBUILD ARG GITHUB_TOKEN
ONBUILD ENV APP_SECRET=x
ONBUILD COPY . /src
ONBUILD ONBUILD RUN true
ONBUILD FROM alpine:3.20
ONBUILD MAINTAINER someone
RUN useradd -u 123456 app
RUN useradd --uid 123456 other
RUN useradd --no-log-init -u 123456 third
RUN useradd -u 12345 fourth
RUN groupadd -g 2000000 g && useradd -m -u 2000000 -g g fifth
