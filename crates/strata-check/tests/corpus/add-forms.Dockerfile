FROM debian:12
ADD http://example.com/a.tar.gz /tmp/
ADD vendor.tar.xz /opt/
ADD config.json settings.yaml /etc/app/
ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://example.com/x /x
