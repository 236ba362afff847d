FROM alpine:3.19
RUN echo "$(apk add curl)" && echo `wget https://example.com/x`
RUN VERSION=$(curl -sS https://example.com/v) && echo $((1 + 2)) && echo "$VERSION"
RUN sh -c "apk add curl && ssh host"
RUN ["apk", "add", "bash"]
RUN ["sh", "-c", "wget https://example.com/z"]
RUN if [ -f x ]; then zypper install -y curl; fi && while false; do dnf install git; done
RUN { gem install rake; } && (yum install -y make)
