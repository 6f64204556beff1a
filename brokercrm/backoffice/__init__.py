"""The staff back office's cross-app screens: one work queue, the client 360 with its timeline,
and the dashboards. The kernel holds the registries; each app fills them from its
`backoffice/` package (queues, panels, timeline sources, figures) when it starts, so the screens
gather every app's work without importing any app."""
