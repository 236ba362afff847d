FROM node:20 AS deps
RUN yarn install --frozen-lockfile
FROM node:20 AS tools
RUN yarn install && yarn cache clean
RUN yarn cache clean && yarn install
FROM deps AS build
RUN yarn install --production
RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install
FROM node:20
RUN yarn global add serve@14 && yarn install
# hadolint ignore=DL3060
RUN yarn install --check-files
RUN yarn install \
    && yarn build \
    && yarn cache clean --all
