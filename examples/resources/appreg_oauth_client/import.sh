# An OAuth client is imported by its registration id (`app_…`). An imported
# confidential client has no client_secret in state until its first rotation:
# set or change rotation_triggers to issue one.
terraform import appreg_oauth_client.example app_4f2k9m7q1x8c3v6b0n5p2r7t9w
