FROM opensuse/leap:15.5
RUN zypper install curl && zypper clean
RUN zypper -n install curl=8.0.1 && zypper clean -a
RUN zypper --non-interactive in 'git>2.40' ./x.rpm && zypper cc
RUN zypper dist-upgrade -y && zypper dup -n
RUN zypper rm vim && zypper refresh
RUN zypper clean && zypper install -y --no-recommends "tar<2" gzip>=1.12
RUN zypper si -y make && zypper patch
RUN --mount=type=cache,target=/var/cache/zypp zypper in -y less=590
# hadolint ignore=DL3037
RUN zypper install -y which \
 && zypper clean
RUN zypper install --no-confirm nano=7.2 && zypper clean
