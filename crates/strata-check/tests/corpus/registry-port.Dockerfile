FROM localhost:5000/base
FROM registry.example.com:443/team/app:1.2
FROM ghcr.io/owner/image:latest
FROM docker.io/library/alpine@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
