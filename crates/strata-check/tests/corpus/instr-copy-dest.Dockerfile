FROM golang:1.22 AS build
COPY go.mod go.sum ./
COPY main.go util.go src
COPY . app
WORKDIR /src
COPY . .
RUN go build -o /out/app .

FROM build AS test
COPY testdata fixtures

FROM debian:12.5
COPY a b /dest/
COPY a b "/dest"
COPY ["a", "b", "/dest"]
COPY x.conf etc/x.conf
COPY y.conf $HOME/y.conf
COPY z.conf C:/z.conf
COPY --from=build / /
COPY --from=build /out/app /usr/local/bin/app
WORKDIR /srv
COPY w.conf conf/
