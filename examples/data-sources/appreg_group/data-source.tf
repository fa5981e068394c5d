# Groups are looked up by name, so configurations never hard-code group ids.
data "appreg_group" "platform" {
  name = "platform"
}

output "platform_group_id" {
  value = data.appreg_group.platform.id
}
