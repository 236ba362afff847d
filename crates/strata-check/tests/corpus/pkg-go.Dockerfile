FROM golang:1.22
RUN go install github.com/go-delve/delve/cmd/dlv
RUN go install github.com/go-delve/delve/cmd/dlv@v1.22.1
RUN go install golang.org/x/tools/gopls@latest
RUN go install . && go install ./cmd/... && go build -o /app .
RUN go get -u github.com/spf13/cobra@v1.8.0 && go get golang.org/x/text
RUN go run github.com/a/b@v1.0.0 github.com/not/a/package
RUN go run ./gen.go && go install github.com/x/y
RUN go mod download && go test ./...
# hadolint ignore=DL3062
RUN go install honnef.co/go/tools/cmd/staticcheck
RUN CGO_ENABLED=0 go install -ldflags "-s -w" \
      github.com/golangci/golangci-lint/cmd/golangci-lint@v1.57.2
