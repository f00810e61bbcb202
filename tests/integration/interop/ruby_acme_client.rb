#!/usr/bin/ruby
# Obtain or revoke a certificate with Debian's ruby-acme-client gem.
#
#   ruby_acme_client.rb issue  DIRECTORY CA_FILE ACCOUNT_KEY WEBROOT CERT KEY NAME...
#   ruby_acme_client.rb revoke DIRECTORY CA_FILE ACCOUNT_KEY CERT
#
# issue registers (or reuses) the P-256 account key, answers http-01 with
# files under WEBROOT, finalizes and writes the full chain and the key.
# revoke looks the account up with onlyReturnExisting and revokes CERT.
# The server's TLS chain must verify against CA_FILE.  Errors go to stderr
# and make the exit status 1.

require 'acme-client'
require 'fileutils'
require 'openssl'

POLL_LIMIT_SECONDS = 60

def load_or_create_key(path)
  unless File.exist?(path)
    key = OpenSSL::PKey::EC.generate('prime256v1')
    File.open(path, File::WRONLY | File::CREAT | File::TRUNC, 0o600) { |f| f.write(key.to_pem) }
  end
  OpenSSL::PKey.read(File.read(path))
end

def client_for(directory, ca_file, account_key)
  Acme::Client.new(private_key: load_or_create_key(account_key),
                   directory: directory,
                   connection_options: { ssl: { ca_file: ca_file } })
end

# Reload RESOURCE until its status leaves the in-progress states.
def wait_while_busy(resource, description)
  deadline = Time.now + POLL_LIMIT_SECONDS
  while %w[pending processing].include?(resource.status)
    raise "#{description} still #{resource.status} after #{POLL_LIMIT_SECONDS} s" if Time.now > deadline

    sleep 0.5
    resource.reload
  end
end

def issue(directory, ca_file, account_key, webroot, cert_path, key_path, names)
  client = client_for(directory, ca_file, account_key)
  client.new_account(contact: 'mailto:ruby-acme@example.test', terms_of_service_agreed: true)

  order = client.new_order(identifiers: names)
  order.authorizations.each do |authz|
    challenge = authz.http
    raise "no http-01 challenge offered for #{authz.identifier['value']}" if challenge.nil?

    path = File.join(webroot, challenge.filename)
    FileUtils.mkdir_p(File.dirname(path))
    File.write(path, challenge.file_content)
    begin
      challenge.request_validation
      wait_while_busy(challenge, "challenge for #{authz.identifier['value']}")
    ensure
      File.delete(path)
    end
    raise "challenge for #{authz.identifier['value']} is #{challenge.status}: #{challenge.error}" unless challenge.status == 'valid'
  end

  wait_while_busy(order, 'order')
  cert_key = OpenSSL::PKey::EC.generate('prime256v1')
  order.finalize(csr: Acme::Client::CertificateRequest.new(private_key: cert_key, names: names))
  wait_while_busy(order, 'order')
  raise "order is #{order.status} after finalize" unless order.status == 'valid'

  File.open(key_path, File::WRONLY | File::CREAT | File::TRUNC, 0o600) { |f| f.write(cert_key.to_pem) }
  File.write(cert_path, order.certificate)
end

def revoke(directory, ca_file, account_key, cert_path)
  client = client_for(directory, ca_file, account_key)
  client.account
  raise 'revoke-cert did not succeed' unless client.revoke(certificate: File.read(cert_path))
end

command = ARGV.shift
begin
  case command
  when 'issue'
    abort 'usage: issue DIRECTORY CA_FILE ACCOUNT_KEY WEBROOT CERT KEY NAME...' if ARGV.length < 7
    issue(*ARGV[0, 6], ARGV[6..])
  when 'revoke'
    abort 'usage: revoke DIRECTORY CA_FILE ACCOUNT_KEY CERT' unless ARGV.length == 4
    revoke(*ARGV)
  else
    abort "unknown command #{command.inspect}: expected issue or revoke"
  end
rescue StandardError => e
  warn "ruby-acme-client: #{e.class}: #{e.message}"
  exit 1
end
