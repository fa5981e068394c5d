data "appreg_group" "platform" {
  name = "platform"
}

# A confidential web app: it keeps a client secret, which Terraform stores in
# state as a sensitive value. Organization scope lets other groups consent to it.
resource "appreg_oauth_client" "example" {
  group_id    = data.appreg_group.platform.id
  name        = "Partner Portal"
  description = "The partner portal web app"
  scope       = "organization"

  callback_urls = [
    "https://portal.example.com/oauth/callback",
    "http://localhost:3000/oauth/callback",
  ]
  grant_types  = ["authorization_code"]
  require_pkce = true

  # Any change to these values rotates the client secret in place; the client
  # id stays. Bump the value to rotate on a schedule or after a leak.
  rotation_triggers = {
    rotated = "2026-Q1"
  }
}

output "partner_portal_client_id" {
  value = appreg_oauth_client.example.client_id
}

output "partner_portal_client_secret" {
  value     = appreg_oauth_client.example.client_secret
  sensitive = true
}
