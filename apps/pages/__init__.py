"""Staff pages made of several apps' data: the patient's page and its print (the whole clinical record of one patient
and its reminder messages), the follow-up worklist with its "To call" tab (reminders), the form for answers taken down
by staff and the ablation edit (both write surveys' answers), and the audit trail's pages (audit/: they name patients,
clinic days and roles). They sit above the apps they read, so that none of those imports an app higher than itself
(pyproject.toml's import-linter contracts); their URLs keep the prefix and name of the app they belong to
(config/urls.py)."""
