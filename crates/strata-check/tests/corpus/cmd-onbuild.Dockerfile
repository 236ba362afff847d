FROM alpine:3.19
ONBUILD RUN apk add curl
ONBUILD RUN wget https://example.com/x
ONBUILD RUN curl -sS https://example.com/y && ssh host
ONBUILD RUN cd /tmp && yum install -y httpd && go install github.com/x/y
ONBUILD COPY . /app
RUN apk add --no-cache jq=1.7.1-r0
RUN yarn install
FROM node:20 AS unshipped
ONBUILD RUN yarn install
RUN yarn install
ONBUILD RUN wget -q https://example.com/z
ONBUILD RUN yum install -y php-${PHP_V}
ENV PHP_V=8
RUN yum install -y php-${PHP_V} && yum clean all
FROM alpine:3.19
