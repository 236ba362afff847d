FROM alpine:3.19 AS a
RUN apk --no-cache add -U curl=8.5.0-r0 && apk -X http://r add --no-cache jq=1.7
RUN apk add --no-cache -- tini && apk add --no-cache --virtual .x=1 g++=13
RUN apk add --no-cache --allow-untrusted /tmp/pkgs/*.apk ${EXTRA}
FROM centos:7 AS b
RUN yum --enablerepo=epel install -y --setopt=tsflags=nodocs htop-2.2.0-3.el7 && yum clean all
RUN yum install -y python3-3.6* "nginx-1.20.1-10.el7.x86_64" @development && yum -q clean all
RUN yum -y remove x && yum -y update && yum install -y gcc-4.8.5 ; yum clean all
RUN yum install -y https://x/epel-release-latest-7.noarch.rpm && yum makecache
FROM opensuse/leap:15.5 AS c
RUN zypper --non-interactive --gpg-auto-import-keys install --no-recommends curl=8 && zypper clean -a
RUN zypper -q in -y 'vim>=9' && zypper ar repo && zypper ref && zypper clean
RUN zypper up -y && zypper remove -n x && zypper install -y ./a.rpm
FROM fedora:40 AS d
RUN dnf -y --setopt=install_weak_deps=False install p-1.0 && dnf clean all
RUN microdnf --nodocs install -y q-2 && microdnf clean all && microdnf upgrade -y
RUN dnf install -y --nogpgcheck https://x/y-1.0.rpm r-3_1 s-v1 && dnf -y clean all
RUN dnf upgrade -y
FROM ruby:3.3 AS e
RUN gem install -N rake && gem install rack --no-document -v 3 && gem install bundler:2.4 --conservative
RUN gem install --version '~> 13' rake && gem install pry:0.14 byebug
FROM golang:1.22 AS f
RUN go install -v ./... && go get ./... && go get -d -v ./...
RUN go install -tags netgo github.com/a/b@v1 && go tool pprof x
RUN go install golang.org/dl/go1.22.0@latest && go1.22.0 download
RUN go run -mod=mod github.com/c/d@v2 -flag && go install github.com/e/f
FROM node:20 AS g
RUN yarn && yarn --cwd web install && yarn cache clean
RUN yarn install --immutable && yarn cache clean --all
RUN yarn workspaces focus --production && yarn cache dir
FROM debian:12
COPY --from=g /x /x
RUN wget -qO- https://x/a | tar xz && wget -nc https://x/b && wget -O- -q https://x/c
RUN wget --output-document=/x https://x/d && wget --no-verbose -O /y https://x/e
RUN curl -fsSLO https://x/f
