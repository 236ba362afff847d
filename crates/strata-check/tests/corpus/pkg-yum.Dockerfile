FROM centos:7
ARG HTTPD_VERSION=2.4.6
ENV MOD_VERSION=2.4.6
RUN yum install httpd && yum clean all
RUN yum install -y httpd-2.4.6-99.el7 && yum clean all
RUN yum -y install mod_ssl-${MOD_VERSION} && rm -rf /var/cache/yum/*
RUN yum install -y "httpd-$HTTPD_VERSION" && yum clean all
RUN yum install -y nginx-$UNKNOWN && yum clean all
RUN yum clean all && yum install --assumeyes epel-release-7-14
RUN yum groupinstall "Development Tools" && yum localinstall -y ./pkg-1.0.rpm
RUN yum module install -y nodejs:18 && yum clean all
RUN yum module install -y nodejs && yum clean all
RUN yum -y update && \
    yum -y install \
      git-1.8.3.1 \
      wget-1.14 && \
    yum clean all
# hadolint ignore=DL3032,DL3033
RUN yum install -y vim-enhanced
RUN yum install -y epel-release && yum clean all
