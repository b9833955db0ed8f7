// Drives Pipedrive's official Node SDK (npm `pipedrive`, pinned in package.json) against
// the pdmigrate sandbox and prints what it created, listed and read back as one JSON object.
// Used by tests/sandbox/test_node_sdk.py, which asserts the values round-trip.
//
// Env: PDM_BASE_URL (e.g. http://127.0.0.1:8765) and PDM_TOKEN (any token the sandbox accepts).
// All data is synthetic.
"use strict";

const pipedrive = require("pipedrive");

const base = process.env.PDM_BASE_URL;
const apiKey = process.env.PDM_TOKEN;
if (!base || !apiKey) {
  console.error("set PDM_BASE_URL and PDM_TOKEN");
  process.exit(2);
}

const v2 = new pipedrive.v2.Configuration({ apiKey, basePath: `${base}/api/v2` });
const v1 = new pipedrive.v1.Configuration({ apiKey, basePath: `${base}/v1` });

const api = {
  personFields: new pipedrive.v2.PersonFieldsApi(v2),
  dealFields: new pipedrive.v2.DealFieldsApi(v2),
  organizations: new pipedrive.v2.OrganizationsApi(v2),
  persons: new pipedrive.v2.PersonsApi(v2),
  deals: new pipedrive.v2.DealsApi(v2),
  activities: new pipedrive.v2.ActivitiesApi(v2),
  notes: new pipedrive.v1.NotesApi(v1),
  users: new pipedrive.v1.UsersApi(v1),
};

// Record each step's name so a failure says which SDK call the sandbox broke.
let step = "start";
async function call(name, fn) {
  step = name;
  const res = await fn();
  if (!res || res.success !== true) {
    throw new Error(`${name}: envelope without success=true: ${JSON.stringify(res)}`);
  }
  return res;
}

async function main() {
  const out = {};

  // Custom fields first: their 40-hex keys are per account, so read them from the response.
  const personField = await call("addPersonField", () =>
    api.personFields.addPersonField({
      AddPersonFieldRequest: { field_name: "Patient number", field_type: "varchar" },
    }),
  );
  const dealField = await call("addDealField", () =>
    api.dealFields.addDealField({
      AddDealFieldRequest: {
        field_name: "Treatment type",
        field_type: "enum",
        options: [{ label: "Orthodontics" }, { label: "Implant" }],
      },
    }),
  );
  const pf = personField.data.field_code;
  const df = dealField.data.field_code;
  const implant = dealField.data.options.find((o) => o.label === "Implant");
  out.fields = {
    person: { field_code: pf, field_type: personField.data.field_type },
    deal: {
      field_code: df,
      field_type: dealField.data.field_type,
      options: dealField.data.options.map((o) => ({ id: o.id, label: o.label })),
    },
  };

  // v2 organizations
  const org = await call("addOrganization", () =>
    api.organizations.addOrganization({
      AddOrganizationRequest: { name: "Harbour Dental (synthetic)" },
    }),
  );
  const orgs = await call("getOrganizations", () => api.organizations.getOrganizations({ limit: 100 }));
  const orgGot = await call("getOrganization", () => api.organizations.getOrganization({ id: org.data.id }));

  // v2 persons, with the custom field value under its per-account key
  const person = await call("addPerson", () =>
    api.persons.addPerson({
      AddPersonRequest: {
        name: "Ada Example",
        org_id: org.data.id,
        emails: [{ value: "ada.example@example.test", primary: true, label: "work" }],
        phones: [{ value: "+61 8 8000 0000", primary: true, label: "mobile" }],
        custom_fields: { [pf]: "P-000123" },
      },
    }),
  );
  const persons = await call("getPersons", () => api.persons.getPersons({ limit: 100 }));
  const personGot = await call("getPerson", () => api.persons.getPerson({ id: person.data.id }));

  // v2 deals, with an enum custom field set by option id
  const deal = await call("addDeal", () =>
    api.deals.addDeal({
      AddDealRequest: {
        title: "Implant plan (synthetic)",
        person_id: person.data.id,
        org_id: org.data.id,
        value: 4200,
        currency: "AUD",
        custom_fields: { [df]: implant.id },
      },
    }),
  );
  const deals = await call("getDeals", () => api.deals.getDeals({ limit: 100 }));
  const dealGot = await call("getDeal", () => api.deals.getDeal({ id: deal.data.id }));

  // v2 activities: the person is linked through participants, never person_id
  const activity = await call("addActivity", () =>
    api.activities.addActivity({
      AddActivityRequest: {
        subject: "Implant consult",
        type: "meeting",
        due_date: "2026-03-04",
        due_time: "09:30",
        duration: "00:45",
        deal_id: deal.data.id,
        participants: [{ person_id: person.data.id, primary: true }],
      },
    }),
  );
  const activities = await call("getActivities", () => api.activities.getActivities({ limit: 100 }));
  const activityGot = await call("getActivity", () => api.activities.getActivity({ id: activity.data.id }));

  // v1 users
  const users = await call("getUsers", () => api.users.getUsers());
  const me = await call("getCurrentUser", () => api.users.getCurrentUser());
  const found = await call("findUsersByName", () =>
    api.users.findUsersByName({ term: me.data.email, search_by_email: 1 }),
  );
  const userGot = await call("getUser", () => api.users.getUser({ id: me.data.id }));

  // v1 notes, backdated
  const note = await call("addNote", () =>
    api.notes.addNote({
      AddNoteRequest: {
        content: "<p>Consult notes (synthetic)</p>",
        person_id: person.data.id,
        deal_id: deal.data.id,
        add_time: "2019-05-06 07:08:09",
      },
    }),
  );
  const notes = await call("getNotes", () => api.notes.getNotes({ person_id: person.data.id }));
  const noteGot = await call("getNote", () => api.notes.getNote({ id: note.data.id }));

  // The SDK's error interceptor rejects with the error body itself (no status).
  async function refused(name, fn) {
    step = name;
    try {
      await fn();
    } catch (err) {
      if (err && err.success === false) return err;
      throw err;
    }
    throw new Error(`${name}: the sandbox accepted a request Pipedrive rejects`);
  }
  out.errors = {
    activity_person_id: await refused("addActivity(person_id)", () =>
      api.activities.addActivity({
        AddActivityRequest: { subject: "Call back", type: "call", person_id: person.data.id },
      }),
    ),
    enum_as_string: await refused("addDeal(enum label)", () =>
      api.deals.addDeal({
        AddDealRequest: { title: "Plan B (synthetic)", custom_fields: { [df]: "Implant" } },
      }),
    ),
  };

  const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o[k]]));
  const personKeys = ["id", "name", "org_id", "emails", "phones", "custom_fields"];
  const dealKeys = ["id", "title", "person_id", "org_id", "value", "currency", "custom_fields"];
  const activityKeys = ["id", "subject", "type", "due_date", "due_time", "duration", "deal_id", "person_id", "participants"];
  const noteKeys = ["id", "content", "person_id", "deal_id", "add_time"];
  const userKeys = ["id", "name", "email", "active_flag"];

  out.organization = {
    created: pick(org.data, ["id", "name"]),
    got: pick(orgGot.data, ["id", "name"]),
    listed_ids: orgs.data.map((o) => o.id),
  };
  out.person = {
    created: pick(person.data, personKeys),
    got: pick(personGot.data, personKeys),
    listed_ids: persons.data.map((p) => p.id),
    next_cursor: persons.additional_data.next_cursor,
  };
  out.deal = {
    created: pick(deal.data, dealKeys),
    got: pick(dealGot.data, dealKeys),
    listed_ids: deals.data.map((d) => d.id),
  };
  out.activity = {
    created: pick(activity.data, activityKeys),
    got: pick(activityGot.data, activityKeys),
    listed_ids: activities.data.map((a) => a.id),
  };
  out.users = {
    listed: users.data.map((u) => pick(u, userKeys)),
    me: pick(me.data, userKeys),
    found_ids: found.data.map((u) => u.id),
    got: pick(userGot.data, userKeys),
  };
  out.note = {
    created: pick(note.data, noteKeys),
    got: pick(noteGot.data, noteKeys),
    listed_ids: notes.data.map((n) => n.id),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  // An HTTP error arrives as the response body (SDK error interceptor), anything else as an Error.
  const detail = err && err.success === false ? { body: err } : { message: String(err && (err.stack || err)) };
  console.error(JSON.stringify({ failed_step: step, ...detail }));
  process.exit(1);
});
