FROM alpine:3.19
WORKDIR /src
RUN cd /src && make
RUN sudo make install
RUN echo "cd is a word here" && true
