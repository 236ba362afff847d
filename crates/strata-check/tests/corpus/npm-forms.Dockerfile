FROM node:20
RUN npm i lodash
RUN npm install --production
RUN npm add left-pad@1.3.0
RUN npm install git+https://github.com/x/y.git ./folder foo.tgz
RUN npm install -g npm@10 @angular/cli
