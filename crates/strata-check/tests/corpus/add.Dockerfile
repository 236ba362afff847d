FROM debian:12
ADD app.py /app/
ADD https://example.com/file.txt /tmp/
ADD rootfs.tar.gz /
ADD --chown=1000 src /src
COPY more /more
