FROM centos:7 AS base
ENV PHP_V=7.4
RUN yum install -y php-${PHP_V} && yum clean all
FROM base AS app
RUN yum install -y php-cli-${PHP_V} && yum clean all
FROM centos:7
RUN yum install -y php-xml-${PHP_V} && yum clean all
ARG LATE=1
RUN yum install -y php-gd-${LATE} && yum clean all
RUN yum install -y tar-1.26 \
 && yum install -y gzip-1.5 \
 && yum clean all
