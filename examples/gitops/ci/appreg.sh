#!/usr/bin/env bash
# The steps of the appreg GitOps workflows, one subcommand each, so that a
# workflow file stays short and every step can be run (and tested) outside
# GitHub Actions too.
#
#   ci/appreg.sh setup             install the provider into a mirror; point Terraform at it
#   ci/appreg.sh plan  STACK_DIR   init, plan -out=tfplan, write the summary
#   ci/appreg.sh apply STACK_DIR   apply the plan saved by 'plan', exactly
#   ci/appreg.sh drift STACK_DIR   init, appreg drift; exit 2 on drift
#   ci/appreg.sh comment PR FILE   post FILE on pull request PR, or update the
#                                  plan comment of this stack posted before
#
# Environment: APPREG_HOME (a built appreg checkout, default .appreg),
# APPREG_ENDPOINT and APPREG_TOKEN (read by the provider and appreg drift),
# APPREG_LOCK=false for plans that must not take the state lock (pull
# requests). Under GitHub Actions it also uses RUNNER_TEMP, GITHUB_ENV,
# GITHUB_OUTPUT and GITHUB_STEP_SUMMARY; elsewhere it falls back to a
# temporary folder and standard output.
#
# Nothing here prints a token or a secret: Terraform redacts sensitive values,
# appreg drift masks them, and plan files (which hold the client secret in the
# prior state) never leave the stack folder.
set -euo pipefail

appreg_home=${APPREG_HOME:-.appreg}
appreg="$appreg_home/bin/appreg"
work=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
out="$work/appreg"
mkdir -p "$out"

die() { echo "ci/appreg.sh: $*" >&2; exit 1; }
# Sets a step output under GitHub Actions; prints it elsewhere.
output() { if [[ -n ${GITHUB_OUTPUT:-} ]]; then echo "$1=$2" >>"$GITHUB_OUTPUT"; else echo "$1=$2"; fi; }
# Exports a variable to later steps under GitHub Actions; elsewhere prints
# an export line, for eval "$(ci/appreg.sh setup)".
export_env() { if [[ -n ${GITHUB_ENV:-} ]]; then echo "$1=$2" >>"$GITHUB_ENV"; else printf 'export %s=%q\n' "$1" "$2"; fi; }
# Appends a file to the job summary under GitHub Actions.
summary() { if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then cat "$1" >>"$GITHUB_STEP_SUMMARY"; fi; }
stack_dir() {
  [[ -n ${1:-} ]] || die "usage: ci/appreg.sh $cmd STACK_DIR"
  [[ -f $1/cdk.tf.json || -n $(compgen -G "$1/*.tf" || true) ]] || die "$1 has no Terraform configuration: synthesize the cdktf app first"
}
tf_init() { terraform -chdir="$1" init -input=false -no-color >"$out/init.log" 2>&1 || { cat "$out/init.log" >&2; die "terraform init failed in $1"; }; }

cmd=${1:-}
shift || true
case $cmd in
  setup)
    [[ -x $appreg ]] || die "$appreg not found: check out appreg into $appreg_home and run npm ci && npm run build there"
    mirror="$work/appreg-mirror"
    "$appreg" provider install --dir "$mirror" >/dev/null
    # Only appreg/appreg comes from the mirror; every other provider from its registry as usual.
    cat >"$work/appreg.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["appreg/appreg"]
  }
  direct {
    exclude = ["appreg/appreg"]
  }
}
EOF
    export_env TF_CLI_CONFIG_FILE "$work/appreg.tfrc"
    export_env TF_IN_AUTOMATION 1
    export_env TF_INPUT 0
    export_env CHECKPOINT_DISABLE 1
    echo "appreg provider installed in $mirror" >&2
    ;;

  plan)
    stack_dir "${1:-}"
    dir=$1
    lock=${APPREG_LOCK:-true}
    tf_init "$dir"
    set +e
    terraform -chdir="$dir" plan -input=false -no-color -detailed-exitcode -lock="$lock" -out=tfplan
    code=$?
    set -e
    case $code in
      0) output changes false ;;
      2) output changes true ;;
      *) die "terraform plan failed in $dir (exit $code)" ;;
    esac
    "$appreg" plan-summary --dir "$dir" --plan tfplan >"$out/plan.md"
    terraform -chdir="$dir" show -no-color tfplan >"$out/plan.txt"
    summary "$out/plan.md"
    output summary "$out/plan.md"
    ;;

  apply)
    stack_dir "${1:-}"
    dir=$1
    [[ -f $dir/tfplan ]] || die "$dir/tfplan not found: run ci/appreg.sh plan $dir first"
    # The saved plan, not a new one: what is applied is exactly what the summary showed.
    # Terraform refuses it if the state changed since it was made.
    terraform -chdir="$dir" apply -input=false -no-color tfplan
    rm -f "$dir/tfplan"
    printf '### appreg apply for `%s`: applied\n\n' "$(basename "$dir")" >"$out/apply.md"
    terraform -chdir="$dir" output -no-color >>"$out/apply.md" 2>/dev/null || true
    summary "$out/apply.md"
    ;;

  drift)
    stack_dir "${1:-}"
    dir=$1
    tf_init "$dir"
    set +e
    "$appreg" drift --dir "$dir" --markdown >"$out/drift.md"
    code=$?
    set -e
    cat "$out/drift.md"
    summary "$out/drift.md"
    case $code in
      0) ;;
      2)
        echo "::error title=appreg drift::Registrations in $(basename "$dir") were changed outside Terraform; see the job summary"
        exit 2
        ;;
      *) die "appreg drift failed in $dir (exit $code)" ;;
    esac
    ;;

  comment)
    [[ $# -eq 2 ]] || die "usage: ci/appreg.sh comment PR FILE"
    [[ -n ${GITHUB_REPOSITORY:-} ]] || die "GITHUB_REPOSITORY is not set: run under GitHub Actions, or set it to owner/name"
    pr=$1
    # One comment per pull request and stack, updated on each push. A hidden
    # marker finds it again: the last comment of the bot may belong to another
    # workflow that comments with the same token.
    marker="<!-- appreg plan: ${APPREG_STACK:-default} -->"
    body="$out/comment.md"
    { echo "$marker"; cat "$2"; } >"$body"
    # --slurp (gh since spring 2024; hosted runners have it) makes all pages one JSON array of pages.
    id=$(gh api "repos/$GITHUB_REPOSITORY/issues/$pr/comments" --paginate --slurp |
      MARKER=$marker node -e '
        let text = "";
        process.stdin.on("data", (d) => (text += d)).on("end", () => {
          const mine = JSON.parse(text).flat().filter((c) => String(c.body).trimStart().startsWith(process.env.MARKER));
          if (mine.length > 0) console.log(mine[mine.length - 1].id);
        });')
    if [[ -n $id ]]; then
      gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$body" >/dev/null
      echo "updated comment $id on pull request $pr" >&2
    else
      gh pr comment "$pr" --repo "$GITHUB_REPOSITORY" --body-file "$body"
    fi
    ;;

  *)
    die "unknown command '${cmd}': use setup, plan, apply, drift or comment"
    ;;
esac
