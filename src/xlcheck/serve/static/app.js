// The upload page: drag and drop, post to /api/check, show the findings as the review sheet does.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  var drop = document.getElementById("drop");
  var input = document.getElementById("file");
  var msg = document.getElementById("message");
  var out = document.getElementById("results");
  var picked = null;

  function say(text, ok) {
    msg.textContent = text;
    msg.className = ok ? "ok" : "";
    msg.hidden = !text;
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function fileList() { return picked || input.files; }

  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (ev) {
    picked = ev.dataTransfer.files;
    send();
  });
  input.addEventListener("change", function () { picked = null; send(); });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); send(); });

  function send() {
    var files = fileList();
    if (!files || !files.length) { say("请先选择或拖入工作簿。"); return; }
    var data = new FormData();
    for (var i = 0; i < files.length; i++) data.append("file", files[i], files[i].name);
    data.append("code", document.getElementById("code").value);
    say("正在审核……", true);
    out.textContent = "";
    fetch("/api/check", { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json().catch(function () { return { ok: false, error: "服务器返回了无法识别的内容（" + r.status + "）" }; }); })
      .then(show)
      .catch(function () { say("无法连接审核服务，请稍后再试。"); });
  }

  function show(doc) {
    if (!doc.ok) { say(doc.error || "审核失败"); return; }
    say(doc.stored ? "已报送给财政部门（" + doc.department + "），可在“本部门报送记录”中查看。" : "审核完成（自查，文件未保存）。", true);
    doc.files.forEach(render);
  }

  function download(item) {
    if (item.download) return item.download;
    var bin = atob(item.annotated), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return URL.createObjectURL(new Blob([bytes], {
      type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }));
  }

  function render(item) {
    var box = el("section", { "class": "file" });
    var head = el("div", { "class": "file-head" });
    head.appendChild(el("h2", {}, item.file));
    head.appendChild(el("span", { "class": "verdict " + (item.status === "通过" ? "pass" : "fail") }, item.status));
    var c = item.counts;
    head.appendChild(el("span", {}, "错误 " + c.error + "，警告 " + c.warning + "，提示 " + c.info + "，已说明 " + c.explained));
    var a = el("a", { "class": "button download", href: download(item), download: item.file }, "下载批注副本");
    head.appendChild(a);
    box.appendChild(head);
    if (!item.rows.length) {
      box.appendChild(el("p", {}, "未发现问题。"));
    } else {
      var t = el("table", { "class": "findings" });
      var hr = el("tr");
      ["序号", "级别", "规则", "工作表", "单元格", "问题描述", "填报值", "计算值或期望值", "填报单位说明", "状态"]
        .forEach(function (h) { hr.appendChild(el("th", {}, h)); });
      t.appendChild(el("thead")).appendChild(hr);
      var tb = el("tbody");
      item.rows.forEach(function (r, i) {
        var cls = r.state === "已说明" ? "explained" : ({ "错误": "error", "警告": "warning", "提示": "info" })[r.level] || "";
        var tr = el("tr", { "class": cls });
        [i + 1, r.level, r.rule, r.sheet, r.cell, r.message, r.value, r.expected, r.note, r.state]
          .forEach(function (v) { tr.appendChild(el("td", {}, v)); });
        tb.appendChild(tr);
      });
      t.appendChild(tb);
      box.appendChild(t);
    }
    out.appendChild(box);
  }
}());
