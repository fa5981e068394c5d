# OAuth must be enabled for the tenant before the first app is registered.
# Needs a tenant_security_admin token.
resource "appreg_tenant_oauth_setting" "example" {
  oauth_enabled = true
}

data "appreg_group" "platform" {
  name = "platform"
}

# Registering an app while OAuth is off fails, so apps depend on the setting.
resource "appreg_oauth_client" "internal_dashboard" {
  group_id      = data.appreg_group.platform.id
  name          = "Internal Dashboard"
  scope         = "group"
  callback_urls = ["https://dashboard.example.com/oauth/callback"]

  depends_on = [appreg_tenant_oauth_setting.example]
}

# False while the tenant uses single sign-on: device-grant apps are refused then.
output "device_grant_allowed" {
  value = appreg_tenant_oauth_setting.example.device_grant_allowed
}
