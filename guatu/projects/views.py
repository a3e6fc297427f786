from django.views.generic import View


class ProjectListView(View):
    pass


ProjectEditView = ProjectExportView = ProjectDetailView = ProjectDeleteView = ProjectStageView = (
    ProjectListView
)
