# The tenant setting is imported by the tenant id (`ten_…`), as `appreg admin init` printed it.
terraform import appreg_tenant_oauth_setting.example ten_9c4x7m2k5q8h1v3b6n0p4r7t2w
