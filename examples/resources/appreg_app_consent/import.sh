# A consent is imported by `<group_id>/<app_id>`: the consenting group, then the app.
terraform import appreg_app_consent.example grp_7h3m2q9x4k1c8v5b6n0p3r2t8y/app_4f2k9m7q1x8c3v6b0n5p2r7t9w
