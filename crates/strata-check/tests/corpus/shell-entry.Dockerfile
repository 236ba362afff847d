FROM debian:12
SHELL ["/bin/bash", "-c"]
RUN ls | wc -l
ENTRYPOINT ["/entry.sh"]
CMD echo hello
