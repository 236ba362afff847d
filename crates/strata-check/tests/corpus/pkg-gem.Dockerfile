FROM ruby:3.3
RUN gem install bundler
RUN gem install bundler:2.5.6 rake:13.1.0
RUN gem install rails -v 7.1.3 && gem i nokogiri --version=1.16.2
RUN gem install --no-document rubocop
RUN gem update --system && gem install --no-document rubocop json
RUN gem i rspec && gem install -- --use-system-libraries
# hadolint ignore=DL3028
RUN gem install puma
RUN bundle install && echo gem install x
