data "appreg_group" "billing" {
  name = "billing"
}

# An organization-scoped app of another group, found by name in billing's
# browse list. Its id is the app_id of an appreg_app_consent; no secret is returned.
data "appreg_oauth_client" "partner_portal" {
  group_id = data.appreg_group.billing.id
  name     = "Partner Portal"
}

output "partner_portal_app" {
  value = {
    id             = data.appreg_oauth_client.partner_portal.id
    client_id      = data.appreg_oauth_client.partner_portal.client_id
    owner_group_id = data.appreg_oauth_client.partner_portal.owner_group_id
    callback_urls  = data.appreg_oauth_client.partner_portal.callback_urls
  }
}
