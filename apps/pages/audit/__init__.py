"""The audit trail's pages for admins (access log, change history, the patient page's viewers panel): they read
the trail of apps.audit and name patients, clinic days and roles, so they sit here, above those apps."""
