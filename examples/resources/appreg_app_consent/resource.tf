data "appreg_group" "billing" {
  name = "billing"
}

# The organization-scoped app of another group, as billing's browse list shows it.
data "appreg_oauth_client" "partner_portal" {
  group_id = data.appreg_group.billing.id
  name     = "Partner Portal"
}

# Lets the billing group use the Partner Portal app.
resource "appreg_app_consent" "example" {
  group_id = data.appreg_group.billing.id
  app_id   = data.appreg_oauth_client.partner_portal.id
}
