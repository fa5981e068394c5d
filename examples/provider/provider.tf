terraform {
  required_providers {
    appreg = {
      source  = "appreg/appreg"
      version = "~> 0.1"
    }
  }
}

# The endpoint and token are read from the environment, so that no secret is
# written into the configuration or its version history:
#
#   export APPREG_ENDPOINT="https://appreg.example.com"
#   export APPREG_TOKEN="<token from `appreg admin token create`>"
#
# Setting `endpoint` or `token` here takes precedence over the environment.
provider "appreg" {}
