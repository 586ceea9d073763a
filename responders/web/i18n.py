"""UI strings: Simplified Chinese by default, English available (?lang=en, remembered in a
cookie). One flat table; a missing English string falls back to Chinese, a missing key shows
the key (visible in review, never a crash)."""

from __future__ import annotations

import re

LANGS = ("zh", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "app": ("舆情回应工作台", "Press desk"),
    "queue": ("舆情队列", "Alert queue"),
    "log": ("发布台账", "Output log"),
    "users": ("用户管理", "Users"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login_failed": ("用户名或密码错误", "Wrong user name or password"),
    "login_throttled": ("登录失败次数过多，请{seconds}秒后再试",
                        "Too many failed logins; try again in {seconds} s"),
    "priority": ("级别", "Priority"),
    "topic": ("话题", "Topic"),
    "source": ("来源", "Source"),
    "sentiment": ("情感", "Sentiment"),
    "state": ("状态", "State"),
    "assignee": ("经办人", "Assignee"),
    "due": ("截止", "Due"),
    "time_left": ("剩余时间", "Time left"),
    "title": ("标题", "Title"),
    "filter": ("筛选", "Filter"),
    "all": ("全部", "All"),
    "open": ("未办结", "Open"),
    "unassigned": ("未分配", "Unassigned"),
    "overdue": ("已超期", "Overdue"),
    "hours_left": ("剩余 {h} 小时", "{h} h left"),
    "hours_over": ("超期 {h} 小时", "{h} h overdue"),
    "negative": ("负面", "Negative"),
    "neutral": ("中性", "Neutral"),
    "positive": ("正面", "Positive"),
    "mean": ("平均情感", "Mean sentiment"),
    "chart_title": ("近14天信息量与情感", "Items and sentiment, last 14 days"),
    "empty_queue": ("队列为空", "The queue is empty"),
    "reasons": ("预警原因", "Why flagged"),
    "milestones": ("处置时限", "Deadlines"),
    "basis": ("依据", "Basis"),
    "history": ("处理记录", "History"),
    "item": ("原文", "Post"),
    "published": ("发布时间", "Published"),
    "first_seen": ("首次发现", "First seen"),
    "clock_from": ("计时起点", "Clock from"),
    "backfill": ("回溯", "Backfill"),
    "backfill_note": ("发现晚于发布超过回溯时限，不计突发事件时限",
                      "Found long after publication: no emergency deadlines"),
    "link": ("链接", "Link"),
    "actions": ("处置", "Actions"),
    "reason": ("理由", "Reason"),
    "act_assign": ("分配", "Assign"),
    "act_dismiss": ("无需回应", "Dismiss (no response needed)"),
    "act_escalate": ("上报", "Escalate"),
    "act_reopen": ("重新打开", "Reopen"),
    "act_draft": ("起草", "Draft"),
    "act_edit": ("保存", "Save"),
    "act_submit": ("提交审核", "Submit for approval"),
    "act_approve": ("审核通过", "Approve"),
    "act_return": ("退回修改", "Return with comments"),
    "act_publish": ("登记发布", "Record publication"),
    "kind": ("类型", "Kind"),
    "suggested": ("推荐政策文件", "Suggested policy documents"),
    "cite": ("引用", "Cite"),
    "outputs": ("回应与解读", "Outputs"),
    "body": ("正文", "Text"),
    "comment": ("审核意见", "Reviewer's comments"),
    "channels": ("发布渠道", "Channels"),
    "published_at": ("发布时间", "Published at"),
    "other_channel": ("其他渠道", "Other channel"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_json": ("导出 JSON", "Export JSON"),
    "author": ("起草人", "Author"),
    "approver": ("审核人", "Approver"),
    "year": ("年度", "Year"),
    "count_by_channel": ("按渠道统计", "Count by channel"),
    "no_outputs": ("暂无发布记录", "Nothing published yet"),
    "role": ("角色", "Role"),
    "add_user": ("添加用户", "Add user"),
    "role_officer": ("经办人", "Officer"),
    "role_approver": ("审核人", "Approver"),
    "role_admin": ("管理员", "Admin"),
    # the history (audit log) in words: what was acted on, the action, who when not a person
    "en_alert": ("预警", "alert"),
    "en_output": ("稿件", "output"),
    "ac_assign": ("分配", "assigned"),
    "ac_dismiss": ("标记无需回应", "dismissed"),
    "ac_escalate": ("上报", "escalated"),
    "ac_reopen": ("重新打开", "reopened"),
    "ac_draft": ("起草", "drafted"),
    "ac_edit": ("修改", "edited"),
    "ac_submit": ("提交审核", "submitted"),
    "ac_return": ("退回修改", "returned"),
    "ac_approve": ("审核通过", "approved"),
    "ac_publish": ("发布", "published"),
    "ac_respond": ("已回应", "responded"),
    "ac_answered": ("留言已回复", "answered"),
    "ac_merge": ("合并为同一事件", "merged"),
    "ac_record_own": ("记入发布台账", "recorded in the log"),
    "actor_system:analysis": ("系统（研判）", "system (analysis)"),
    "actor_system:board": ("系统（留言板）", "system (message board)"),
    "st_merged": ("已合并", "Merged"),
    "st_new": ("新预警", "New"),
    "st_assigned": ("已分配", "Assigned"),
    "st_drafting": ("起草中", "Drafting"),
    "st_escalated": ("已上报", "Escalated"),
    "st_dismissed": ("无需回应", "Dismissed"),
    "st_responded": ("已回应", "Responded"),
    "st_draft": ("草稿", "Draft"),
    "st_submitted": ("待审核", "Submitted"),
    "st_returned": ("已退回", "Returned"),
    "st_approved": ("已通过", "Approved"),
    "st_published": ("已发布", "Published"),
    "error": ("出错了", "Something went wrong"),
    "back": ("返回", "Back"),
    "to_me": ("分配给我", "Assign to me"),
    "logged_in_as": ("当前用户", "Logged in as"),
    "no_suggestions": ("政策库中没有相关文件", "No related documents in the library"),
    "language": ("English", "中文"),
    # deadline reminders
    "reminded": ("已提醒", "Reminded"),
    "reminder_failed": ("提醒失败", "Reminder failed"),
    "reminder_pending": ("待发送", "Queued"),
    # A reminder is sent at most once: one whose worker stopped mid-send keeps this state,
    # and the officer should know it may not have arrived rather than read "Queued".
    "reminder_sending": ("发送中，结果未确认", "Sending, outcome not confirmed"),
    "reminder_sending_hint": ("若长时间停留在此状态，提醒可能未送达，请直接联系经办人",
                              "If this persists, the reminder may not have arrived: "
                              "contact the officer directly"),
    "not_reminded": ("尚未提醒", "No reminder yet"),
    # events
    "event": ("事件", "Event"),
    "event_chart_title": ("事件信息量与情感走势", "Event volume and sentiment over time"),
    "own_voice": ("本单位已发声", "The office has spoken"),
    "own_record": ("记入发布台账", "Record in the output log"),
    "own_tag": ("本单位", "Own"),
    "own_recorded": ("已记入", "Recorded"),
    "own_note": ("本单位账号、网站发布的内容，不产生预警；记入台账不会发布任何内容。",
                 "Posts by the office's own accounts raise no alert; recording one publishes "
                 "nothing."),
    "effect": ("回应效果", "Did the response work"),
    "effect_first": ("首次回应", "First response"),
    "effect_kind_output": ("发布台账", "output log"),
    "effect_kind_own_post": ("本单位发声", "own post"),
    "effect_before": ("回应前", "Before"),
    "effect_after": ("回应后", "After"),
    "effect_hours": ("时长（小时）", "Hours"),
    "effect_items": ("信息数", "Items"),
    "effect_rate": ("每小时", "Per hour"),
    "effect_negative": ("负面占比", "Negative share"),
    "effect_chart_title": ("回应前后每小时信息量", "Items per hour before and after the response"),
    "event_items": ("相关信息 {n} 条", "{n} related items"),
    "reach": ("传播量", "Reach"),
    "sources_n": ("来源 {n} 个", "{n} sources"),
    "burst": ("突发", "Burst"),
    # admin: sources and topics
    "sources": ("信息源", "Sources"),
    "topics": ("话题分类", "Topics"),
    "name": ("名称", "Name"),
    "url": ("地址", "URL"),
    "kind_src": ("类别", "Kind"),
    "interval": ("间隔（秒）", "Interval (s)"),
    "items": ("信息数", "Items"),
    "last_success": ("最近成功", "Last success"),
    "failures": ("连续失败", "Failures"),
    "last_error": ("最近错误", "Last error"),
    "source_health": ("状态说明", "Health"),
    "src_error": ("错误：", "Error: "),
    "src_warning": ("提示（已处理）：", "Note (handled): "),
    "src_silent": ("自 {since} 起没有新内容", "Silent since {since}"),
    "next_check": ("下次检查", "Next check"),
    "add_source": ("添加信息源", "Add source"),
    "remove": ("删除", "Remove"),
    "purge_confirm": ("同时删除已采集的信息及其预警",
                      "Also delete its stored items and their alerts"),
    "notice_added": ("已添加信息源，即将进行首次检查", "Source added; its first check is queued"),
    "notice_removed": ("已删除信息源", "Source removed"),
    "watch": ("关注名单", "Watch list"),
    "keywords": ("关键词", "Keywords"),
    "rules": ("组合规则", "Rules"),
    "exclude": ("排除词", "Exclude"),
    "edit_yaml": ("编辑（YAML）", "Edit (YAML)"),
    "save": ("保存", "Save"),
    "topics_saved": ("话题分类已保存，下一批分析起生效", "Saved; the next analysis batch uses it"),
    "topics_from": ("当前文件", "Current file"),
    "topics_invalid": ("未保存：{error}", "Not saved: {error}"),
    # users (issue 16): user management, the editor's side panel, gone sources, 通知投递
    "us_display_name": ("姓名", "Display name"),
    "us_actions": ("操作", "Actions"),
    "us_you": ("当前登录", "you"),
    "us_set_role": ("修改角色", "Set role"),
    "us_active": ("正常", "Active"),
    "us_disabled": ("已停用", "Disabled"),
    "us_disable": ("停用", "Disable"),
    "us_enable": ("启用", "Enable"),
    "us_new_password": ("新密码（至少10位）", "New password (10+ characters)"),
    "us_set_password": ("重置密码", "Reset password"),
    "us_generate": ("生成随机密码", "Generate one"),
    "us_generated": ("{name} 的新密码（只显示这一次，请当面或电话告知本人）：",
                     "New password for {name} (shown this once; hand it over in person):"),
    "us_help": ("停用后该用户的登录会话立即失效，其 API 令牌在启用前一律被拒；"
                "角色修改从其下一次操作起生效；重置密码会结束其现有会话。最后一名在用的管理员不能停用或降级。",
                "Disabling ends the user's sessions at once and refuses their API tokens "
                "until enabled again; a role change counts from their next request; a "
                "password reset ends their sessions. The last active admin cannot be "
                "disabled or demoted."),
    "us_notice_added": ("已添加用户", "User added"),
    "us_notice_role": ("角色已修改", "Role changed"),
    "us_notice_disabled": ("已停用该用户，其会话已结束", "User disabled; their sessions ended"),
    "us_notice_enabled": ("已启用该用户", "User enabled"),
    "us_notice_password": ("密码已重置，其现有会话已结束", "Password reset; their sessions ended"),
    "us_post": ("原帖", "The post"),
    "us_post_author": ("作者", "Author"),
    "us_post_time": ("发布时间", "Published"),
    "us_no_post": ("本稿件没有关联的预警信息", "This draft has no alert post"),
    "us_policies": ("所引政策原文", "Cited policy texts"),
    "us_no_policy": ("尚未勾选引用的政策文件", "No policy document cited yet"),
    "us_unfilled_help": ("提交前请把所有【待填写：…】处写完。",
                         "Fill every 【待填写：…】 before submitting."),
    "us_gone": ("已失效", "Gone"),
    "us_likely_gone": ("可能已失效", "Likely gone"),
    "us_enable_source": ("重新启用", "Enable again"),
    "us_src_notice_enabled": ("已重新启用信息源，即将进行检查",
                              "Source enabled; its check is queued"),
    "us_src_notice_resent": ("已重新投递该通知", "Notification queued to be sent again"),
    "us_outbox": ("通知投递", "Notification delivery"),
    "us_outbox_help": ("未送达的通知：“失败”可重新投递；“情况不明”的通知可能已送达，"
                       "系统不会自动重发，请与接收方核实。",
                       "Notifications that did not go out: a failed one may be sent again; an "
                       "unknown one may have arrived, so it is never resent: check with the "
                       "recipient."),
    "us_outbox_none": ("没有未送达的通知", "Every notification went out"),
    "us_outbox_total": ("共 {n} 条", "{n} in all"),
    "us_ob_kind": ("类型", "Kind"),
    "us_ob_ref": ("对象", "About"),
    "us_ob_state": ("状态", "State"),
    "us_ob_attempts": ("尝试次数", "Attempts"),
    "us_ob_detail": ("错误", "Error"),
    "us_ob_at": ("时间", "When"),
    "us_ob_resend": ("重新投递", "Send again"),
    "us_ob_kind_alert": ("预警通知", "Alert"),
    "us_ob_kind_reminder": ("提醒", "Reminder"),
    "us_ob_kind_digest": ("周报", "Digest"),
    "us_ob_state_failed": ("失败", "Failed"),
    "us_ob_state_unknown": ("情况不明", "Unknown"),
    "us_ob_state_sending": ("发送中断", "Interrupted"),
    # ---- the disclosure register (issue 20)
    "rg_register": ("依申请公开", "Disclosure requests"),
    "rg_title": ("政府信息公开申请登记", "Register of disclosure requests"),
    "rg_number": ("登记号", "No."),
    "rg_received": ("收到日期", "Received"),
    "rg_channel": ("申请方式", "Channel"),
    "rg_applicant_type": ("申请人类型", "Applicant type"),
    "rg_applicant": ("申请人", "Applicant"),
    "rg_subject": ("申请内容", "Information asked for"),
    "rg_due": ("答复期限", "Reply due"),
    "rg_state": ("状态", "State"),
    "rg_state_open": ("办理中", "Being handled"),
    "rg_state_answered": ("已答复", "Answered"),
    "rg_outcome": ("办理结果", "Outcome"),
    "rg_answered": ("答复日期", "Answered on"),
    "rg_fee": ("收费（元）", "Fee (yuan)"),
    "rg_overdue": ("已逾期", "Overdue"),
    "rg_new": ("登记新申请", "Register a request"),
    "rg_only_open": ("只看办理中", "Only those being handled"),
    "rg_year": ("年度", "Year"),
    "rg_filter": ("筛选", "Filter"),
    "rg_basis": ("期限依据", "Legal basis"),
    "rg_steps": ("办理环节", "Steps"),
    "rg_step_correction_requested": ("告知补正", "Correction asked for"),
    "rg_step_corrected": ("收到补正", "Corrected request received"),
    "rg_step_extend": ("延期答复（告知申请人）", "Extension (applicant told)"),
    "rg_step_pause": ("征求第三方意见（不计入期限）", "Third-party consultation (not counted)"),
    "rg_on": ("日期", "Date"),
    "rg_until": ("截止日期", "Until"),
    "rg_days": ("延期工作日", "Working days"),
    "rg_record": ("记录", "Record"),
    "rg_reply": ("答复", "Reply"),
    "rg_reopen": ("重新办理", "Reopen"),
    "rg_reason": ("原因", "Reason"),
    "rg_documents": ("材料", "Documents"),
    "rg_attach": ("上传", "Attach"),
    "rg_kind": ("类型", "Kind"),
    "rg_cases": ("行政复议、行政诉讼", "Reconsiderations and lawsuits"),
    "rg_case_number": ("案号", "Case no."),
    "rg_case_kind": ("类型", "Kind"),
    "rg_case_route": ("起诉方式", "Route"),
    "rg_case_filed": ("立案日期", "Filed"),
    "rg_case_body": ("复议机关或法院", "Authority or court"),
    "rg_case_outcome": ("结果", "Outcome"),
    "rg_case_decided": ("审结日期", "Decided"),
    "rg_case_add": ("登记案件", "Add case"),
    "rg_case_decide": ("记录结果", "Record the outcome"),
    "rg_corrected_on": ("补正收到", "Corrected"),
    "rg_extension": ("延期", "Extension"),
    "rg_pauses": ("征求意见期间", "Consultations"),
    "rg_none": ("暂无记录", "None yet"),
    # ---- notify (issue 17): roster, acknowledgement, deliveries
    "nt_roster": ("值班表", "On-call roster"),
    "nt_on_duty_now": ("当前值班", "On duty now"),
    "nt_nobody": ("（无人）", "(nobody)"),
    "nt_lines": ("排班", "Roster lines"),
    "nt_when": ("星期/日期", "Weekday / date"),
    "nt_hours": ("时段", "Hours"),
    "nt_role": ("角色", "Role"),
    "nt_person": ("人员", "Person"),
    "nt_people": ("人员与通知渠道", "People and their channels"),
    "nt_phone": ("手机", "Mobile"),
    "nt_channels": ("渠道", "Channels"),
    "nt_all_channels": ("全部渠道", "all channels"),
    "nt_display_name": ("姓名", "Display name"),
    "nt_add_line": ("添加排班", "Add line"),
    "nt_import": ("导入CSV（替换全部排班）", "Import CSV (replaces every line)"),
    "nt_import_help": ("表头：", "Header:"),
    "nt_notice_saved": ("已保存", "Saved"),
    "nt_notice_imported": ("值班表已导入", "Roster imported"),
    "nt_not_saved": ("未保存：{error}", "Not saved: {error}"),
    "nt_role_duty": ("值班员", "Duty officer"),
    "nt_role_leader": ("带班领导", "Duty leader"),
    "nt_role_head": ("办公室主任", "Office head"),
    "nt_weekday_1": ("每周一", "Mondays"),
    "nt_weekday_2": ("每周二", "Tuesdays"),
    "nt_weekday_3": ("每周三", "Wednesdays"),
    "nt_weekday_4": ("每周四", "Thursdays"),
    "nt_weekday_5": ("每周五", "Fridays"),
    "nt_weekday_6": ("每周六", "Saturdays"),
    "nt_weekday_7": ("每周日", "Sundays"),
    "nt_ack": ("确认收到", "Acknowledge"),
    "nt_ack_button": ("确认收到此预警", "I have received this alert"),
    "nt_ack_done": ("已确认收到，升级提醒已停止。", "Acknowledged; escalation stopped."),
    "nt_ack_login": ("处置此预警请登录工作台。", "Log in to the desk to act on the alert."),
    "nt_deliveries": ("通知记录", "Notifications"),
    "nt_step": ("环节", "Step"),
    "nt_step_0": ("首次通知", "First message"),
    "nt_step_n": ("第{n}次升级", "Escalation {n}"),
    "nt_group": ("群", "group"),
    "nt_st_pending": ("待发送", "waiting"),
    "nt_st_sending": ("发送中/结果未确认", "sending / outcome not confirmed"),
    "nt_st_sent": ("已送达", "sent"),
    "nt_st_failed": ("失败", "failed"),
    "nt_st_unknown": ("结果未知（不自动重发）", "unknown (not resent)"),
    "nt_notify_delivery": ("发送通知", "notification sent"),
    "nt_notify_escalate": ("无人确认，升级通知", "not acknowledged: escalated"),
    "nt_notify_ack": ("确认收到", "acknowledged"),
    "nt_notify_held": ("免打扰时段，延后发送", "held for quiet hours"),
    "nt_notify_nobody": ("规则指定的人员当前无人在岗", "nobody holds the rule's roles now"),
    # -- evidence and the 专报 (issue 18) --
    "evd_title": ("证据快照", "Evidence snapshots"),
    "evd_item": ("条目", "Item"),
    "evd_kind": ("类型", "Kind"),
    "evd_kind_raw": ("原始数据", "Raw entry"),
    "evd_kind_page": ("网页快照", "Page snapshot"),
    "evd_fetched": ("抓取时间", "Fetched"),
    "evd_state": ("状态", "State"),
    "evd_failed": ("未能抓取", "Not fetched"),
    "evd_deleted": ("已删除", "Deleted"),
    "evd_online": ("在线", "Online"),
    "evd_none": ("尚无快照（预警后由后台抓取）", "No snapshots yet (taken in the background)"),
    "evd_report": ("舆情处置专报", "After-action report"),
    "exp_docx": ("下载专报（Word）", "Report as Word (DOCX)"),
    "exp_pdf": ("下载专报（PDF）", "Report as PDF"),
    "exp_zip": ("下载移送材料包（ZIP）", "Referral package (ZIP)"),
    "exp_zip_note": ("材料包含全部快照、清单与哈希，每次下载均记入审计日志",
                     "snapshots, manifest and hashes; every download is audit-logged"),
    # The alert history's words for evidence entries (its keys are actor_/en_/ac_ + name).
    "actor_system:evidence": ("系统（证据）", "System (evidence)"),
    "en_item": ("条目", "item"),
    "en_event": ("事件", "event"),
    "ac_marked_deleted": ("发现原帖已删除", "found deleted"),
    "ac_export": ("导出移送材料包", "exported the referral package"),
    # ---- desk: overview, events, search, bulk (issue 16)
    "ov_title": ("总览", "Overview"),
    "ov_open_by_priority": ("未办结预警", "Open alerts"),
    "ov_due_soon": ("2小时内到期", "Due within 2 hours"),
    "ov_overdue": ("已超期", "Overdue"),
    "ov_unassigned": ("未分配", "Unassigned"),
    "ov_chart_7d": ("近7天信息量与情感", "Items and sentiment, last 7 days"),
    "ov_chart_48h": ("近48小时信息量与情感（按小时）",
                     "Items and sentiment, last 48 hours (hourly)"),
    "ov_top_topics": ("热点话题（近24小时）", "Top topics (last 24 hours)"),
    "ov_change": ("较前24小时", "vs. the 24 hours before"),
    "ov_items": ("条信息", "items"),
    "ov_open_alerts": ("未办结预警", "open alerts"),
    "ov_largest_events": ("今日最大事件", "Largest events today"),
    "ov_no_events": ("今天还没有事件", "No events today yet"),
    "ov_source_health": ("信息源状态", "Source health"),
    "ov_failing": ("采集失败", "Failing"),
    "ov_silent": ("长时间无新内容", "Silent"),
    "ov_healthy": ("正常", "Healthy"),
    "ov_all_sources_ok": ("全部信息源正常", "Every source is healthy"),
    "ov_none": ("无", "None"),
    "ev_title": ("事件", "Events"),
    "ev_event": ("事件", "Event"),
    "ev_items": ("信息数", "Items"),
    "ev_reach": ("传播量", "Reach"),
    "ev_negative_share": ("负面占比", "Negative share"),
    "ev_first_seen": ("首次发现", "First seen"),
    "ev_last_seen": ("最近发现", "Last seen"),
    "ev_sources": ("来源", "Sources"),
    "ev_timeline": ("时间线（按发布时间）", "Timeline (by publication time)"),
    "ev_chart": ("每小时信息量与情感", "Items and sentiment per hour"),
    "ev_author": ("作者", "Author"),
    "ev_reposts": ("转发", "Reposts"),
    "ev_comments": ("评论", "Comments"),
    "ev_likes": ("点赞", "Likes"),
    "ev_alerts": ("相关预警", "Alerts"),
    "ev_outputs": ("回应与解读", "Outputs"),
    "ev_own_posts": ("本单位已发声", "The office's own posts"),
    "ev_effect": ("回应效果", "Response effect"),
    "ev_empty": ("没有符合条件的事件", "No events match"),
    "ev_days": ("时间范围", "Period"),
    "ev_days_n": ("近{n}天", "Last {n} days"),
    "ev_min_items": ("至少信息数", "At least items"),
    "ev_burst": ("突发", "Burst"),
    "ev_all_queue": ("在队列中查看", "Show in the queue"),
    "ev_untitled": ("（无标题）", "(untitled)"),
    "se_title": ("搜索", "Search"),
    "se_placeholder": ("搜索信息、事件、回应…（/）", "Search posts, events, outputs… (/)"),
    "se_items": ("信息", "Posts"),
    "se_events": ("事件", "Events"),
    "se_outputs": ("回应与解读", "Outputs"),
    "se_nothing": ("没有找到", "Nothing found"),
    "se_short_note": ("一两个字的检索词无法使用全文索引，只在最新的{n}条信息中逐条查找",
                      "Words of one or two characters cannot use the full-text index; "
                      "only the newest {n} posts are searched for them"),
    "se_results": ("“{q}”的搜索结果", "Results for “{q}”"),
    "se_empty_query": ("请输入检索词", "Type a word to search for"),
    "bk_selected": ("对所选预警：", "With the selected alerts:"),
    "bk_to_me": ("分配给我", "Assign to me"),
    "bk_apply": ("执行", "Apply"),
    "bk_select": ("选择预警", "Select alert"),
    "bk_select_all": ("全选", "Select all"),
    "bk_result": ("批量处置结果", "Bulk action"),
    "bk_summary": ("成功 {done} 条，未执行 {failed} 条", "{done} done, {failed} not done"),
    "bk_alert": ("预警", "Alert"),
    "bk_outcome": ("结果", "Outcome"),
    "bk_done": ("已完成", "Done"),
    "bk_wrong_state": ("当前状态不允许此操作（可能已被他人处理）",
                       "Not allowed from its current state (someone may have moved it)"),
    "bk_role": ("您的角色无权执行此操作", "Your role may not do this"),
    "bk_reason": ("需要填写理由", "A reason is needed"),
    "bk_not_found": ("预警不存在", "No such alert"),
    "bk_refused": ("未执行", "Refused"),
    "bk_back": ("返回队列", "Back to the queue"),
    "bk_due": ("时限", "Deadline"),
    "bk_sort": ("排序", "Sort"),
    "bk_sort_priority": ("级别优先", "Priority first"),
    "bk_sort_due": ("截止时间", "Deadline"),
    "bk_sort_newest": ("最新", "Newest"),
    "bk_prev": ("上一页", "Previous"),
    "bk_next": ("下一页", "Next"),
    "bk_page": ("第 {n} 页", "Page {n}"),
    "bk_keys": ("键盘快捷键", "Keyboard shortcuts"),
    "bk_key_move": ("下一条 / 上一条", "Next / previous row"),
    "bk_key_open": ("打开当前预警", "Open the current alert"),
    "bk_key_pick": ("选中 / 取消选中", "Select / unselect"),
    "bk_key_assign": ("批量分配", "Bulk assign"),
    "bk_key_dismiss": ("批量标记无需回应", "Bulk dismiss"),
    "bk_key_search": ("搜索", "Search"),
    "bk_key_help": ("显示 / 隐藏本列表", "Show / hide this list"),
    # reads (issue 15): the queue's and the output log's pages
    "reads_total": ("共 {n} 条", "{n} in all"),
    "reads_next_page": ("下一页", "Next page"),
    "reads_first_page": ("第一页", "First page"),
    # the output log's CSV header row in the desk's language (issue 16)
    "csv_publication_id": ("发布记录编号", "Publication id"),
    "csv_published_at": ("发布时间", "Published at"),
    "csv_channel": ("发布渠道", "Channel"),
    "csv_link": ("链接", "Link"),
    "csv_kind": ("类别", "Kind"),
    "csv_title": ("标题", "Title"),
    "csv_output_id": ("稿件编号", "Output id"),
    "csv_alert_id": ("预警编号", "Alert id"),
    "csv_author": ("撰稿人", "Author"),
    "csv_approver": ("审核人", "Approver"),
    "csv_recorded_by": ("登记人", "Recorded by"),
    # a refused change on the sources page, framed in the desk's language (the reason, from
    # the validation, names the field and the value)
    "src_not_saved": ("未保存，信息源设置有误：{error}", "Not saved: {error}"),
    # officers' corrections of an item's sentiment (issue 19)
    "rv_wrong": ("情感判断有误", "Sentiment wrong"),
    "rv_corrected": ("已更正为 {label}", "Corrected to {label}"),
    "rv_confirmed": ("人工确认为 {label}", "Confirmed as {label}"),
    "rv_split": ("更正意见不一", "Reviewers disagree"),
    "rv_count": ("（{n} 人）", " ({n})"),
    "rv_unscored": ("未评分", "not scored"),
    # which model scored the item (items.sentiment_model; engines without versions: the name)
    "rv_model": ("模型 {engine} {version}", "model {engine} {version}"),
    "rv_engine": ("模型 {engine}", "model {engine}"),
    "rv_window": ("更正按钮显示在第 {a}–{b} 条上（共 {n} 条）",
                  "Correction buttons on posts {a}–{b} of {n}"),
    "rv_window_prev": ("← 前 {n} 条", "← previous {n}"),
    "rv_window_next": ("后 {n} 条 →", "next {n} →"),
    "ac_sentiment_review": ("更正情感判断", "corrected the sentiment"),
}


def translate(lang: str, key: str, **values: object) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" and pair[1] else pair[0]
    return text.format(**values) if values else text


# -- refusal reasons ---------------------------------------------------------------------
# The domain core's refusals are English sentences (the CLI, the API and the logs read them
# as they are). A desk page in Chinese shows them through `reason`: the sentence's "where"
# prefixes ("source '甲'", "topic 'ab'", "rules[0]") and its problem are matched against
# the tables below and put into Chinese, the values it quotes kept as they were. A sentence
# no pattern knows is shown as it came (English, but never lost or garbled): add a row.

_WHERE: tuple[tuple[str, str], ...] = (
    (r"source (?P<a>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", "信息源 {a}"),
    (r"source", "信息源"),
    (r"topic (?P<a>'[^']*'|\"[^\"]*\")", "话题 {a}"),
    (r"topics\[(?P<n>\d+)\]", "第 {n1} 个话题"),
    (r"rules\[(?P<n>\d+)\]", "第 {n1} 条规则"),
    (r"(?P<f>keywords|exclude|watch|all|any|none)\[(?P<n>\d+)\]", "{f} 第 {n1} 项"),
    (r"(?P<f>keywords|exclude|watch|all|any|none|config)", "{f}"),
)

_PROBLEMS: tuple[tuple[str, str], ...] = (
    # sources (monitor.sources.validate_spec, responders.web.admin)
    (r"'name' is required", "必须填写名称"),
    (r"name is longer than (?P<n>\d+) characters", "名称不能超过 {n} 个字符"),
    (r"url must be an http\(s\) URL with a host, got (?P<v>.*)",
     "网址须为带主机名的 http:// 或 https:// 地址，填写的是 {v}"),
    (r"kind must be one of (?P<all>.*), got (?P<v>.*)", "类型须为 {all} 之一，填写的是 {v}"),
    (r"interval must be whole seconds", "抓取间隔须为整数秒"),
    (r"interval must be at least (?P<n>\d+) s", "抓取间隔不能少于 {n} 秒"),
    (r"allow_private must be true or false", "allow_private 须为 true 或 false"),
    (r"unknown field\(s\) (?P<v>.*)", "不认识的字段：{v}"),
    (r"expected a mapping with name and url", "应为包含 name 和 url 的设置"),
    (r"a source named (?P<v>.*) exists already", "名为 {v} 的信息源已存在"),
    (r"source (?P<v>.*) is not marked gone \(HTTP 410\); nothing to enable",
     "信息源 {v} 未被标记为已失效（HTTP 410），无需重新启用"),
    # topics (responders.admin_topics, monitor.topics)
    # PyYAML names the place twice at most; the greedy prefix takes the last, the problem's.
    (r"not valid YAML: [\s\S]*line (?P<line>\d+), column (?P<col>\d+)[\s\S]*",
     "不是有效的 YAML：第 {line} 行第 {col} 列附近有误（请检查缩进、冒号、引号和括号）"),
    (r"not valid YAML: [\s\S]*", "不是有效的 YAML（请检查缩进、冒号、引号和括号）"),
    (r"topics\.yaml is larger than (?P<n>\d+) kB", "topics.yaml 不能超过 {n} kB"),
    (r"topics\.yaml must be a mapping with 'topics' \(and 'watch'\)",
     "topics.yaml 须为包含 topics（及 watch）的映射"),
    (r"expected a mapping with 'watch' and 'topics'", "应为包含 watch 和 topics 的映射"),
    (r"'topics' must be a non-empty list", "topics 须为非空列表"),
    (r"missing '(?P<f>\w+)'", "缺少 {f}"),
    (r"id must be ascii letters, digits and _", "id 只能由英文字母、数字和下划线组成"),
    (r"has neither keywords nor rules, it could never match",
     "既没有 keywords 也没有 rules，永远不会命中"),
    (r"expected a list of terms, got (?P<t>\w+)", "应为词语列表，填写的是{t}"),
    (r"expected a term, got (?P<v>.*)", "应为一个词语，填写的是 {v}"),
    (r"empty term", "词语为空"),
    (r"'rules' must be a list", "rules 须为列表"),
    (r"needs 'all' or 'any' terms", "须有 all 或 any 词语"),
    (r"expected a mapping with all/any/none", "应为包含 all/any/none 的映射"),
    (r"expected a mapping, got (?P<v>.*)", "应为映射，填写的是 {v}"),
    (r"duplicate id", "id 重复"),
    (r"unknown key\(s\) (?P<v>.*) \(allowed: (?P<all>.*)\)", "不认识的键 {v}（可用：{all}）"),
    (r"unknown marker kind\(s\) (?P<v>.*)", "不认识的标记类型：{v}"),
    # people (responders.auth)
    (r"unknown role (?P<v>.*): choose one of (?P<all>.*)", "角色 {v} 不存在，可选：{all}"),
    (r"a user needs a name", "用户须有用户名"),
    (r"the password needs at least (?P<n>\d+) characters", "密码至少需要 {n} 个字符"),
    (r"user (?P<v>.*) exists already", "用户 {v} 已存在"),
)


# What the parsers note about a feed they read anyway (a source's last_warning: monitor.
# feed_repair, feed_encoding, feeds, social/*), joined with "; " — shown on the sources page
# in the page's language. A note the table does not know is shown as it came.
_NOTES: tuple[tuple[str, str], ...] = (
    (r"removed (?P<n>\d+) control character\(s\) that XML forbids",
     "删除了 {n} 个 XML 不允许的控制字符"),
    (r"the XML declaration came after a comment; ignored it", "XML 声明位于注释之后，已忽略"),
    (r"replaced (?P<n>\d+) HTML entity reference\(s\) that XML does not define",
     "替换了 {n} 个 XML 未定义的 HTML 实体引用"),
    (r"read (?P<n>\d+) HTML entity reference\(s\) that lack their ';'",
     "读取了 {n} 个缺少分号的 HTML 实体引用"),
    (r"kept (?P<n>\d+) reference\(s\) to undefined entities as plain text",
     "将 {n} 个未定义实体的引用保留为普通文字"),
    (r"escaped (?P<n>\d+) bare '&' that began no entity reference",
     "转义了 {n} 个不构成实体引用的“&”"),
    (r"read (?P<n>\d+) '&#X…;' reference\(s\) as hexadecimal",
     "将 {n} 个“&#X…;”引用按十六进制读取"),
    (r"dropped (?P<n>\d+) character reference\(s\) to characters XML forbids",
     "删除了 {n} 个指向 XML 不允许字符的字符引用"),
    (r"the feed breaks off or is malformed \((?P<v>[^)]*)\); kept the (?P<n>\d+) entr(y|ies) "
     r"complete before that point, dropped everything after it",
     "订阅源在此处中断或格式错误（{v}）；保留此前完整的 {n} 条，其后内容已丢弃"),
    (r"an HTML doctype stands before the feed's root element; ignored it",
     "订阅源根元素前有 HTML 文档类型声明，已忽略"),
    (r"the feed declares no encoding; detected (?P<v>[^;]+?) and decoded as that",
     "订阅源未声明编码；识别为 {v} 并按此解码"),
    (r"the feed is (?P<v>[^;]+?) without a byte-order mark; decoded as (?P<w>[^;]+)",
     "订阅源为 {v} 但没有字节顺序标记；已按 {w} 解码"),
    (r"(?P<n>\d+) status\(es\) have a time that could not be read; left undated",
     "{n} 条微博的发布时间无法识别，未标注时间"),
    (r"status (?P<n>\d+) \((?P<v>[^)]*)\) is a long post given only in part; its beginning "
     r"was kept without the “…全文” stub", "微博 {v} 为长文且只给出部分，已保留开头并去掉“…全文”"),
)


def _compile(rows: tuple[tuple[str, str], ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(p), zh) for p, zh in rows)


_WHERE_RE = _compile(_WHERE)
_PROBLEM_RE = _compile(_PROBLEMS)
_NOTE_RE = _compile(_NOTES)


_TYPES = {"int": "数字", "float": "数字", "str": "文字", "dict": "映射", "list": "列表",
          "bool": "真假值", "NoneType": "空值"}


def _fill(zh: str, m: re.Match[str]) -> str:
    values = {k: v for k, v in m.groupdict().items() if v is not None}
    if "t" in values:
        values["t"] = _TYPES.get(values["t"], values["t"])
    if "n" in values and values["n"].isdigit():
        values["n1"] = str(int(values["n"]) + 1)  # rules[0] is the 1st rule to a person
    return zh.format(**values)


def _problem(text: str) -> str | None:
    for pattern, zh in _PROBLEM_RE:
        m = pattern.fullmatch(text)
        if m:
            return _fill(zh, m)
    return None


def reason(lang: str, message: str) -> str:
    """A refusal's sentence in the page's language (see the tables above)."""
    if lang == "en":
        return message
    whole = _problem(message)
    if whole is not None:
        return whole
    places: list[str] = []
    rest = message
    while True:
        for pattern, zh in _WHERE_RE:
            m = pattern.match(rest)
            if m and rest.startswith(": ", m.end()):
                places.append(_fill(zh, m))
                rest = rest[m.end() + 2:]
                break
        else:
            return message  # a sentence the tables do not know: shown as it came
        problem = _problem(rest)
        if problem is not None:
            return "，".join(places) + "：" + problem


def note(lang: str, text: str | None) -> str:
    """A source's parser notes ("; "-joined) in the page's language, each known one
    translated, an unknown one (and all after it) left as it came."""
    if not text or lang == "en":
        return text or ""
    out: list[str] = []
    rest = text
    while rest:
        for pattern, zh in _NOTE_RE:
            m = pattern.match(rest)
            if m and (m.end() == len(rest) or rest.startswith("; ", m.end())):
                out.append(_fill(zh, m))
                rest = rest[m.end() + 2:]
                break
        else:
            out.append(rest)
            break
    return "；".join(out)
