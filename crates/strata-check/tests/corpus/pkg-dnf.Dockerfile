FROM fedora:40
RUN dnf install httpd && dnf clean all
RUN dnf install -y httpd-2.4.59 && dnf clean all
RUN dnf -y upgrade && dnf install -y git-2.45.0 && dnf clean all
RUN microdnf install -y tar-1.35 && microdnf clean all
RUN microdnf install -y gzip-1.13 && dnf clean all
RUN dnf install -y nginx-1.24.0 && rm -rf /var/cache/libdnf5*
RUN --mount=type=cache,target=/var/cache/libdnf5 dnf install -y make-4.4.1
RUN --mount=type=cache,target=/root/.cache/libdnf5 dnf install --assumeyes gcc
RUN dnf module install -y nodejs:20 && dnf clean all
RUN dnf module install -y php && dnf clean all
RUN dnf group install -y "Development Tools" && dnf clean all
RUN dnf groupinstall "C Development" && dnf localinstall -y ./a-1.0.rpm && dnf clean all
RUN dnf clean all && dnf reinstall -y bash-5.2.26
# hadolint ignore=DL3040,DL3041
RUN dnf install -y jq
RUN dnf -y install \
      python3-3.12.3 \
      python3-pip \
 && dnf clean all
