#!/bin/sh
# Release Deskline to Kubernetes in the order it needs: namespace and configuration, then the migrate
# Job (waited for: databases at head and the consumers' queues declared before any publisher runs),
# then the services. The Secret deskline-secrets must exist (deploy/kubernetes/secret.example.yaml).
#   DESKLINE_IMAGE=registry.example.com/deskline:1.4.0 deploy/k8s-deploy.sh
set -eu
image=${DESKLINE_IMAGE:?set DESKLINE_IMAGE to the image to release}
kubectl=${KUBECTL:-kubectl}
dir=$(dirname "$0")/kubernetes

with_image() {  # the manifests name the placeholder deskline:latest
    sed "s|image: deskline:latest|image: $image|" "$@"
}

$kubectl apply -f "$dir/namespace.yaml" -f "$dir/config.yaml"
$kubectl -n deskline get secret deskline-secrets >/dev/null
$kubectl -n deskline delete job deskline-migrate --ignore-not-found --wait=true
with_image "$dir/migrate-job.yaml" | $kubectl apply -f -
$kubectl -n deskline wait --for=condition=complete --timeout=15m job/deskline-migrate
for manifest in tickets notifier inbound-smtp webhooks chat tracker-projector chat-stream gateway; do
    with_image "$dir/$manifest.yaml" | $kubectl apply -f -
done
for deployment in tickets notifier inbound-smtp webhooks chat tracker-projector chat-stream gateway; do
    $kubectl -n deskline rollout status "deployment/$deployment" --timeout=10m
done
