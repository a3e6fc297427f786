from django.db import migrations

# 前期手续 with statutory time limits (see DESIGN.md, "Approvals"). Durations: 核准 20 working days
# (+10); 环评 报告书 60 days, 报告表 30 days, 登记表 filed only; 施工许可 within 7 days; 备案 online,
# no time limit. Others use the common 20-working-day limit of 行政许可法 §42.
KINDS = [
    # code, group, name, order, duration, unit, extension, department, applies_to, is_default, note
    ("filing_record", "filing", "立项（备案）", 10, 0, "workdays", 0, "发展改革部门", ["industry"], True,
     "企业投资项目备案，在线办理，不设时限"),
    ("filing_approve", "filing", "立项（核准）", 11, 20, "workdays", 10, "发展改革部门", [], False,
     "企业投资项目核准，20个工作日，可延长10个工作日"),
    ("filing_examine", "filing", "立项（审批）", 12, 20, "workdays", 0, "发展改革部门",
     ["infrastructure", "livelihood"], True, "政府投资项目可行性研究报告审批"),
    ("land_siting", "land_siting", "用地预审与选址", 20, 20, "workdays", 10, "自然资源部门", [], True,
     "用地预审与选址意见书，合并办理"),
    ("land_planning_permit", "land_planning_permit", "建设用地规划许可", 30, 20, "workdays", 10,
     "自然资源部门", [], True, ""),
    ("engineering_planning_permit", "engineering_planning_permit", "建设工程规划许可", 40, 20, "workdays", 10,
     "自然资源部门", [], True, ""),
    ("eia_report", "eia", "环评（报告书）", 50, 60, "days", 0, "生态环境部门", [], False, "报告书60日"),
    ("eia_form", "eia", "环评（报告表）", 51, 30, "days", 0, "生态环境部门", [], True, "报告表30日"),
    ("eia_registration", "eia", "环评（登记表）", 52, 0, "days", 0, "生态环境部门", [], False, "登记表备案，不审批"),
    ("energy_review", "energy_review", "节能审查", 60, 20, "workdays", 0, "发展改革部门", ["industry"], True, ""),
    ("safety_review", "safety_review", "安评", 70, 20, "workdays", 0, "应急管理部门", ["industry"], True,
     "安全条件审查"),
    ("construction_permit", "construction_permit", "施工许可", 80, 7, "days", 0, "住房和城乡建设部门", [], True,
     "7日内发证；领证后3个月内开工，可延期两次、每次不超过3个月"),
]
DEPENDS = {
    "construction_permit": ["engineering_planning_permit"],
    "engineering_planning_permit": ["land_planning_permit"],
    "land_planning_permit": ["land_siting", "filing_record", "filing_approve", "filing_examine"],
}


def seed(apps, schema_editor):
    ApprovalKind = apps.get_model("projects", "ApprovalKind")
    rows = {}
    for code, group, name, order, duration, unit, ext, dept, applies, default, note in KINDS:
        rows[code], _ = ApprovalKind.objects.update_or_create(
            code=code,
            defaults={
                "group": group, "name": name, "order": order, "duration": duration, "duration_unit": unit,
                "extension": ext, "department": dept, "applies_to": applies, "is_default": default, "note": note,
            },
        )
    for code, needs in DEPENDS.items():
        rows[code].depends_on.set([rows[n] for n in needs])


def unseed(apps, schema_editor):
    apps.get_model("projects", "ApprovalKind").objects.filter(code__in=[k[0] for k in KINDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("projects", "0003_approvalkind_milestone_projectapproval")]
    operations = [migrations.RunPython(seed, unseed)]
