FROM debian:12
RUN ssh user@host
RUN service nginx start && echo ok
RUN ps aux | grep x
RUN free -m; top -b -n1; kill -9 1
RUN mount -t tmpfs none /mnt && vim +q
RUN shutdown -h now
RUN ifconfig eth0 && echo ssh vim
# hadolint ignore=DL3001
RUN ssh-keyscan github.com >> /root/.ssh/known_hosts && service --status-all
RUN /usr/sbin/service x y && openssh-client -V
