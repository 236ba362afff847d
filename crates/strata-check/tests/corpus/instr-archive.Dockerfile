FROM debian:12.5 AS build
COPY app.tar.gz /tmp/
RUN tar -xzf /tmp/app.tar.gz -C /opt

FROM debian:12.5
COPY release.tar.xz /tmp/release.tar.xz
COPY data.zip notes.txt /srv/
COPY tools.tgz /tmp/tools.tgz
RUN mkdir -p /opt/r && tar --extract --file /tmp/release.tar.xz -C /opt/r
RUN unzip /srv/data.zip -d /srv/data
RUN gunzip -k /tmp/tools.tgz
COPY other.tar.bz2 /tmp/
RUN cat /tmp/other.tar.bz2 > /dev/null
