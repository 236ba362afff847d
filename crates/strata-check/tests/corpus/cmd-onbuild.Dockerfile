FROM alpine:3.19
ONBUILD RUN apk add curl
ONBUILD RUN wget https://example.com/x
ONBUILD RUN curl -sS https://example.com/y && ssh host
ONBUILD RUN cd /tmp && yum install -y httpd && go install github.com/x/y
ONBUILD COPY . /app
RUN apk add --no-cache jq=1.7.1-r0
RUN yarn install
