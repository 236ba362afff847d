FROM node:20-bookworm
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
RUN npm install -g typescript
RUN npm install --save @types/node@20.1.0 express@4.18.2
RUN npm install @scope/tool
RUN npm install
